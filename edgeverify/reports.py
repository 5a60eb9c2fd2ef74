"""Reports: a JSON record of every check (schema 2), a Markdown summary for CI job pages, an HTML page.

JUnit XML is pytest's own (--junitxml), defaulted by the plugin into the same folder. Every
exchange is stored once and referenced by its id; bodies and curl lines are kept only for the
exchanges a failing check judged, so a report stays small however many assets a site has.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .redact import redact, redact_deep
from .target import Target

JSON_NAME = "edgeverify.json"
MARKDOWN_NAME = "summary.md"
HTML_NAME = "report.html"
SCHEMA = 2
INTERRUPTED = 2  # pytest.ExitCode.INTERRUPTED; reports are still written, saying so
STATUSES = ("passed", "failed", "error", "skipped", "advisory")
BAD = ("failed", "error")


@dataclass(slots=True)
class RunInfo:
    """What the plugin knows about the run as a whole."""

    started_at: float  # epoch seconds
    exit_status: int
    note: str | None = None  # why the run ended early, when it did
    network: dict[str, float | None] | None = None
    gate_passed: bool | None = None
    served_after_s: float | None = None
    gate_reason: str | None = None
    release_seen_at: float | None = None  # epoch seconds: when the gate's request that found the release went out


def tool_version() -> str:
    try:
        return f"edgeverify {version('edgeverify')}"
    except PackageNotFoundError:
        return "edgeverify (not installed)"


def record(report: Any, data: dict[str, Any]) -> dict[str, Any]:
    """One check's entry, from a pytest TestReport and the data the plugin attached to it."""
    status = "error" if report.when != "call" and report.failed else report.outcome
    if status == "passed" and data.get("advisory"):
        status = "advisory"
    message = None
    if report.failed:
        message = redact(str(report.longrepr))
    elif report.skipped and isinstance(report.longrepr, tuple):
        message = redact(str(report.longrepr[2]))
    return {**data, "nodeid": redact(report.nodeid), "status": status, "duration_s": round(report.duration, 3),
            "message": message}


def build_doc(records: list[dict[str, Any]], table: dict[str, dict[str, Any]], target: Target,
              run: RunInfo) -> dict[str, Any]:
    """The schema-2 document (see the README's 'Reports')."""
    checks = sorted(records, key=lambda r: (r.get("suite") or "~", r["id"]))
    counts = Counter(r["status"] for r in checks)
    suites: dict[str, Counter[str]] = {}
    for c in checks:
        suites.setdefault(c.get("suite") or "other", Counter())[c["status"]] += 1
    failing_refs = {ref for c in checks if c["status"] in (*BAD, "advisory") for ref in c.get("exchanges", [])}
    exchanges = {}
    for ref, ex in table.items():
        if ref not in failing_refs and ex.get("curl") is not None:  # lean: request, status and headers only
            ex = {**ex, "body_excerpt": None, "curl": None}
        exchanges[ref] = ex
    gate = "none" if run.gate_passed is None else ("passed" if run.gate_passed else "failed")
    edges = next((json.loads(v) for c in checks for k, v in c.get("user_properties", []) if k == "edgeverify_edges"),
                 None)
    now = time.time()
    return redact_deep({
        "schema": SCHEMA,
        "tool": tool_version(),
        "domain": target.domain,
        "target": target.source,
        "target_name": Path(target.source).stem if target.source else target.domain,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(now),
        "wall_s": round(now - run.started_at, 3),
        "exit_status": int(run.exit_status),
        "note": run.note,
        "tls_verification": not target.insecure,
        "release": {"marker": target.propagation.release_marker, "served_after_s": _round(run.served_after_s),
                    "seen_at": _round(run.release_seen_at),
                    "gate": gate if target.propagation.release_marker else "none", "reason": run.gate_reason},
        "counts": {s: counts.get(s, 0) for s in STATUSES},
        "suites": {name: {s: n.get(s, 0) for s in STATUSES} for name, n in sorted(suites.items())},
        "checks": [{k: v for k, v in c.items() if k != "exchange_table"} for c in checks],
        "exchanges": exchanges,
        "network": run.network,
        **({"edges": edges} if edges else {}),
    })  # type: ignore[return-value]


def write_all(doc: dict[str, Any], folder: Path) -> list[Path]:
    """Write the JSON, Markdown and HTML reports (and the CI job summary when the CI provides one)."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / JSON_NAME
    # Compact (C encoder): at thousands of exchanges an indented report costs seconds; `jq .` indents it.
    json_path.write_text(json.dumps(doc, separators=(",", ":"), default=str) + "\n")
    md = markdown(doc)
    md_path = folder / MARKDOWN_NAME
    md_path.write_text(md)
    paths = [json_path, md_path]
    html = _write_html(doc, folder)
    if html is not None:
        paths.append(html)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as fh:
            fh.write(md)
    return paths


def _write_html(doc: dict[str, Any], folder: Path) -> Path | None:
    try:
        from .html import write_run_html
    except ImportError:
        return None
    path: Path = write_run_html(doc, folder)
    return path


def verdict(doc: dict[str, Any]) -> str:
    bad = doc["counts"].get("failed", 0) + doc["counts"].get("error", 0)
    if doc["exit_status"] == INTERRUPTED:
        return "⚠️ interrupted"
    return "❌ failing" if bad or doc["exit_status"] else "✅ passing"


def markdown(doc: dict[str, Any]) -> str:
    """A short summary: verdict, a row per suite, then each failure in full."""
    checks = doc["checks"]
    bad = [c for c in checks if c["status"] in BAD]
    lines = [f"# edgeverify: {doc['domain']} — {verdict(doc)}", "",
             f"Target `{doc['target']}`, finished {doc['finished_at']} in {doc['wall_s']:.1f} s. "
             + ", ".join(f"{n} {s}" for s, n in doc["counts"].items() if n) + ".", ""]
    if doc.get("note"):
        lines += [f"> **Run ended early:** {doc['note']}", ""]
    if not doc["tls_verification"]:
        lines += ["> **TLS verification was OFF** (--insecure): certificates were not checked; do not trust a pass.", ""]
    release = doc["release"]
    if release["marker"]:
        waited = release["served_after_s"]
        lines += [f"Release `{release['marker']}`: " + (f"served after {waited:.1f} s." if waited is not None
                                                         else "not confirmed (see failures)."), ""]
    lines += ["| suite | verdict | passed | failed | errors | advisory | skipped |", "|---|---|---|---|---|---|---|"]
    for suite, n in doc["suites"].items():
        mark = "❌" if n["failed"] or n["error"] else ("⚠️" if n["advisory"] else "✅")
        lines.append(f"| {suite} | {mark} | {n['passed']} | {n['failed']} | {n['error']} | {n['advisory']} "
                     f"| {n['skipped']} |")
    net = doc.get("network")
    if net:
        lines += ["", f"{net['requests']} requests on the wire ({net['distinct']} distinct), "
                      f"{net['connections']} connections."]
    converged = [c for c in checks if c.get("converged_after_s")]
    if converged:
        lines += ["", "## Convergence", ""]
        lines += [f"- `{c['id']}` passed after {c['attempts']} attempts, {c['converged_after_s']:.1f} s"
                  for c in converged]
    for title, group, key in (("Failures", bad, "message"),
                              ("Advisory findings", [c for c in checks if c["status"] == "advisory"], "advisory")):
        if group:
            lines += ["", f"## {title}", ""]
            for c in group:
                lines += [f"### `{c['id']}`", "", "```", str(c.get(key) or "").strip(), "```", ""]
    if doc.get("history"):
        from .history import markdown as history_markdown

        lines += ["", history_markdown(doc["history"]).strip()]
    return "\n".join(lines) + "\n"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
