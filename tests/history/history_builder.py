"""Schema-3 reports (edgeverify.json as dicts) for the history tests and benchmark: a target's checks, some failing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# (check id, rule, suite): ids written the way the suites name their checks (rule[item]).
CHECKS: list[tuple[str, str, str]] = [
    ("https.hsts[/]", "https.hsts", "https"),
    ("static.served[pages:/]", "static.served", "static"),
    ("static.served[pages:/about]", "static.served", "static"),
    ("static.leaky_headers[/]", "static.leaky_headers", "static"),
    ("cache.immutable_assets[/assets/app-3f9a2c.js]", "cache.immutable_assets", "cache"),
    ("api.call[GET /api/health]", "api.call", "api"),
    ("cors.preflight[https://app.example.test]", "cors.preflight", "cors"),
    ("spa.deep_link[/settings]", "spa.deep_link", "spa"),
]
FAULT_A = "cache.immutable_assets[/assets/app-3f9a2c.js]"
FAULT_B = "api.call[GET /api/health]"
OUTCOME = {"error": "could_not_judge"}  # the builder's old word for an unjudged check
OUTCOMES = ("passed", "failed", "could_not_judge", "accepted", "advisory", "skipped", "interrupted")
BODY_MARKER = "BODY-MARKER-7f3e"  # in every exchange's body, curl line and headers: must never reach the database
SECRET = "s3cr3t-token-value-91"


def check(check_id: str, rule: str, suite: str, status: str = "passed", *, attempts: int = 1,
          converged_after_s: float | None = None, cause: str | None = None) -> dict[str, Any]:
    status = OUTCOME.get(status, status)
    failing = status in ("failed", "could_not_judge")
    message = (f"FAILED [{rule}] {check_id} does not hold\n  Expected: 200\n  Actual: 404 Not Found {BODY_MARKER}\n"
               f"  Likely cause: {cause or 'the object is missing'}\n  Reproduce: curl -sS -i https://www.example.test/"
               if failing else None)
    return {"id": check_id, "nodeid": f"suites/test_{suite}.py::test_x[{check_id}]", "rule": rule, "suite": suite,
            "summary": f"{rule} holds", "severity": "fail", "outcome": status, "message": message or (
                "Server header reveals nginx" if status == "advisory" else None),
            "expected": "200" if failing else None, "actual": f"404 {BODY_MARKER}" if failing else None,
            "cause": (cause or "the object is missing") if failing else None,
            "reproduce": f"curl -sS -i -H 'X-Token: {BODY_MARKER}' https://www.example.test/" if failing else None,
            "acceptance": None,
            "attempts": attempts, "elapsed_s": 0.1, "converged_after_s": converged_after_s,
            "pops": ["LAB50-C1"], "exchanges": ["x1"]}


def run_doc(started_at: str, failing: Iterable[str] = (), *, status: str = "failed", target_name: str = "site",
            domain: str = "www.example.test", checks: list[tuple[str, str, str]] | None = None,
            release: str | None = "build-1", served_after_s: float | None = 1.5,
            converged: dict[str, float] | None = None, skipped: Iterable[str] = ()) -> dict[str, Any]:
    """A whole report: every check of `checks` passed, but those in `failing` (with `status`) and `skipped`."""
    bad, skip, conv = set(failing), set(skipped), converged or {}
    entries = []
    for cid, rule, suite in checks or CHECKS:
        st = status if cid in bad else "skipped" if cid in skip else "advisory" if rule == "static.leaky_headers" \
            else "passed"
        entries.append(check(cid, rule, suite, st, converged_after_s=conv.get(cid),
                             attempts=3 if cid in conv else 1))
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    suites: dict[str, dict[str, int]] = {}
    for e in entries:
        counts[e["outcome"]] += 1
        suites.setdefault(e["suite"], dict.fromkeys(counts, 0))[e["outcome"]] += 1
    return {
        "schema": 3, "tool": "edgeverify 0.2.0", "domain": domain, "target": f"targets/{target_name}.yaml",
        "target_name": target_name, "started_at": started_at, "finished_at": started_at, "wall_s": 1.9,
        "exit_status": 1 if bad else 0, "verdict": "failed" if bad else "passed", "tls_verification": True,
        "fail_on": "any", "interrupted": None, "note": None,
        "release": {"marker": release, "served_after_s": served_after_s, "gate": "passed", "reason": None},
        "counts": counts, "suites": suites, "checks": entries,
        "exchanges": {"x1": {"request": {"method": "GET", "url": "https://www.example.test/",
                                         "headers": [["Authorization", f"Bearer {SECRET}"], ["X-Trace", BODY_MARKER]]},
                             "status": 404, "headers": [["content-type", "text/html"], ["x-marker", BODY_MARKER]],
                             "body_excerpt": f"<html>{BODY_MARKER}</html>", "body_bytes": 1234, "elapsed_ms": 12.0,
                             "ttfb_ms": 10.0, "x_cache": "Error from cloudfront", "pop": "LAB50-C1", "tls": "TLSv1.3",
                             "error": None, "error_phase": None, "curl": f"curl -sS -i -H 'X-Trace: {BODY_MARKER}'"}},
        "network": {"requests": 8, "distinct": 8, "connections": 2},
    }
