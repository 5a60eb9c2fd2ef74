"""Reports: a JSON record of every check and a Markdown summary for CI job pages.

JUnit XML is pytest's own (--junitxml), defaulted by the plugin into the same folder.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .redact import redact
from .target import Target

JSON_NAME = "edgeverify.json"
MARKDOWN_NAME = "summary.md"
INTERRUPTED = 2  # pytest.ExitCode.INTERRUPTED; reports are still written, saying so


def record(report: Any, data: dict[str, Any]) -> dict[str, Any]:
    """One check's entry, from a pytest TestReport and the data the plugin attached to it."""
    status = "error" if report.when != "call" and report.failed else report.outcome
    if status == "passed" and data.get("advisory"):
        status = "advisory"
    message = None
    if report.failed:
        message = redact(str(report.longrepr))
    elif report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
    return {"nodeid": report.nodeid, "status": status, "duration_s": round(report.duration, 3),
            "message": message, **data}


def write_all(records: list[dict[str, Any]], folder: Path, target: Target, exitstatus: int) -> list[Path]:
    """Write the JSON and Markdown reports (and the CI job summary when the CI provides one)."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = Counter(r["status"] for r in records)
    waits = [r["release_served_after_s"] for r in records if r.get("release_served_after_s") is not None]
    doc = {"domain": target.domain, "target": target.source,
           "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "exit_status": int(exitstatus),
           "tls_verification": not target.insecure,
           "release": {"marker": target.propagation.release_marker, "served_after_s": max(waits) if waits else None},
           "counts": dict(counts), "checks": sorted(records, key=lambda r: r["nodeid"])}
    json_path = folder / JSON_NAME
    json_path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    md = markdown(doc)
    md_path = folder / MARKDOWN_NAME
    md_path.write_text(md)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as fh:
            fh.write(md)
    return [json_path, md_path]


def markdown(doc: dict[str, Any]) -> str:
    """A short summary: verdict, counts per suite, then each failure in full."""
    checks = doc["checks"]
    bad = [c for c in checks if c["status"] in ("failed", "error")]
    verdict = ("⚠️ interrupted" if doc["exit_status"] == INTERRUPTED else "❌ failing" if bad or doc["exit_status"]
               else "✅ passing")
    lines = [f"# edgeverify: {doc['domain']} — {verdict}", "",
             f"Target `{doc['target']}`, finished {doc['finished_at']}. "
             + ", ".join(f"{n} {s}" for s, n in sorted(doc["counts"].items())) + ".", ""]
    if not doc["tls_verification"]:
        lines += ["> **TLS verification was OFF** (--insecure): certificates were not checked; do not trust a pass.", ""]
    release = doc["release"]
    if release["marker"]:
        waited = release["served_after_s"]
        lines += [f"Release `{release['marker']}`: " + (f"served after {waited:.1f} s." if waited is not None
                                                         else "not confirmed (see failures)."), ""]
    lines += ["| suite | passed | failed | advisory | skipped |", "|---|---|---|---|---|"]
    suites: dict[str, Counter[str]] = {}
    for c in checks:
        suites.setdefault(c.get("suite") or "other", Counter())[c["status"]] += 1
    for suite, n in sorted(suites.items()):
        lines.append(f"| {suite} | {n['passed']} | {n['failed'] + n['error']} | {n['advisory']} | {n['skipped']} |")
    converged = [c for c in checks if c.get("converged_after_s")]
    if converged:
        lines += ["", "## Convergence", ""]
        lines += [f"- `{c['nodeid']}` passed after {c['attempts']} attempts, {c['converged_after_s']:.1f} s"
                  for c in converged]
    for title, group, key in (("Failures", bad, "message"), ("Advisory findings", [c for c in checks if c["status"] == "advisory"], "advisory")):
        if group:
            lines += ["", f"## {title}", ""]
            for c in group:
                lines += [f"### `{c['nodeid']}`", "", "```", str(c.get(key) or "").strip(), "```", ""]
    return "\n".join(lines) + "\n"
