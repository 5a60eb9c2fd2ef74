"""Many targets: deterministic sharding, the shards' reports read back, the combined summary's rows (Markdown).

The files are written by reports.py (write_fleet, merge_command); html/ draws the page from the same rows."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import TargetError
from .model import OUTCOMES

JSON_NAME = "edgeverify.json"
SUMMARY_MD = "summary.md"
SUMMARY_HTML = "summary.html"
REPORT_HTML = "report.html"
_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
COUNT_KEYS = tuple(o.value for o in OUTCOMES)
BAD = ("failed", "could_not_judge", "interrupted")


def parse_shard(spec: str) -> tuple[int, int]:
    """`K/N` -> (K, N), 1 <= K <= N; anything else is a usage error (exit 4)."""
    match = _SHARD.fullmatch(spec or "")
    if not match:
        raise TargetError(f"shard {spec!r}: expected K/N, this job's shard K of N shards (for example 2/8)")
    k, n = int(match.group(1)), int(match.group(2))
    if n < 1 or not 1 <= k <= n:
        raise TargetError(f"shard {spec!r}: K must be between 1 and N, and N at least 1 (for example 2/8)")
    return k, n


def shard(paths: list[str], spec: str) -> list[str]:
    """The paths shard K of N gets: sorted, duplicates dropped, dealt round robin (the same on every job)."""
    k, n = parse_shard(spec)
    ordered = sorted(set(paths))
    return ordered[k - 1::n]


def verdict(doc: dict[str, Any]) -> str:
    """The run's verdict as its report wrote it (model.ExitCode.verdict): never judged again here."""
    return str(doc.get("verdict") or "?")


def problems(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks of a doc that fail the run: failed first, then could not judge, then interrupted."""
    checks = [c for c in doc.get("checks") or [] if isinstance(c, dict)]
    return [c for bad in BAD for c in checks if c.get("outcome") == bad]


def _find(inputs: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(path.rglob(JSON_NAME))
            if not files:
                raise TargetError(f"{item}: no {JSON_NAME} in this folder or below it (give a shard's reports folder)")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise TargetError(f"{item}: no such file or folder")
    return found


def merge(report_paths: list[str]) -> list[dict[str, Any]]:
    """Read the shards' reports (files, or folders searched for edgeverify.json), one doc per domain, each read
    back through the published schema (reports.read_report) and written again by the one serializer.

    Raises TargetError (exit 4) on a file that is not a schema-3 report, or a domain found twice.
    """
    from .reports import read_report, to_json

    seen: dict[str, Path] = {}
    docs: list[dict[str, Any]] = []
    for path in _find(report_paths):
        resolved = path.resolve()
        if resolved in seen.values():
            continue
        doc = to_json(read_report(path))
        domain = doc["domain"]
        if domain in seen:
            raise TargetError(f"{path}: domain {domain} is already reported by {seen[domain]}; each domain must be "
                              "verified by exactly one shard (are two target files for the same domain, or was a "
                              "shard's folder given twice under different names?)")
        seen[domain] = resolved
        docs.append(doc)
    if not docs:
        raise TargetError("merge: no reports given")
    return sorted(docs, key=lambda d: (d["domain"], str(d.get("target_name") or "")))


def _cell(value: Any, limit: int = 0) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if limit and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def worst(doc: dict[str, Any], limit: int = 3) -> list[str]:
    """Up to `limit` one-line failures: `rule: actual`."""
    lines = []
    for check in problems(doc)[:limit]:
        rule = check.get("rule") or check.get("id") or check.get("nodeid") or "?"
        text = [line.strip(" -") for line in str(check.get("actual") or check.get("message") or check.get("outcome")
                                                  ).splitlines() if line.strip(" -")]
        first = " ".join(text[:2]) if text and text[0].endswith(":") and len(text) > 1 else (text or [""])[0]
        lines.append(f"{rule}: {first}")
    return lines


def report_link(doc: dict[str, Any]) -> str:
    """The target's report.html, relative to the combined summary."""
    from urllib.parse import quote

    return f"{quote(str(doc.get('domain') or ''), safe='.-')}/{REPORT_HTML}"


def totals(docs: list[dict[str, Any]]) -> dict[str, int]:
    """Checks summed over every target."""
    total = dict.fromkeys(COUNT_KEYS, 0)
    for doc in docs:
        for key in COUNT_KEYS:
            value = (doc.get("counts") or {}).get(key)
            total[key] += value if isinstance(value, int) else 0
    return total


def fleet_markdown(docs: list[dict[str, Any]]) -> str:
    """The combined summary as Markdown: a row per target, failing targets first."""
    verdicts = [verdict(d) for d in docs]
    bad = sum(v != "passed" for v in verdicts)
    icon = {"passed": "✅", "failed": "❌", "bad input": "⚠️", "interrupted": "⏹️"}
    head = f"all {len(docs)} passed" if not bad else f"{bad} of {len(docs)} not passed"
    lines = [f"# edgeverify: {len(docs)} target{'s' if len(docs) != 1 else ''}, {head}", ""]
    t = totals(docs)
    lines += [", ".join(f"{t[k]} {k}" for k in COUNT_KEYS), ""]
    lines += ["| | domain | target | verdict | " + " | ".join(COUNT_KEYS) + " | worst failures | report |",
              "|---|---|---|---|" + "---:|" * len(COUNT_KEYS) + "---|---|"]
    order = sorted(range(len(docs)), key=lambda i: (verdicts[i] == "passed", docs[i].get("domain") or ""))
    for i in order:
        doc, v = docs[i], verdicts[i]
        counts = doc.get("counts") or {}
        nums = " | ".join(str(counts.get(k, 0)) for k in COUNT_KEYS)
        failures = "<br>".join(_cell(w, 140) for w in worst(doc)) or "—"
        lines.append(f"| {icon.get(v, '')} | {_cell(doc.get('domain'))} | {_cell(doc.get('target_name'))} | {v} | "
                     f"{nums} | {failures} | [report.html]({report_link(doc)}) |")
    return "\n".join(lines) + "\n"
