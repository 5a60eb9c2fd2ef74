"""Reports: every output of a run is a pure function of its `RunResult` (model.py).

`to_json` is the one serializer (schema 3, described by `report_schema()`, printed by `edgeverify schema
report`) and `read_report` the typed reader that `merge` uses. The Markdown summary, JUnit XML, the
terminal summary, the CI step summary and the HTML page read each check's outcome and the run's exit
status from the RunResult; none of them judges anything again. Text in a RunResult is already redacted.
"""

from __future__ import annotations

import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import timefmt
from .errors import TargetError
from .model import (CROSS_CHECK, OUTCOMES, SCHEMA, Acceptance, CheckResult, ExitCode, Finding, Network, Outcome, Release,
                    RunResult)

JSON_NAME = "edgeverify.json"
MARKDOWN_NAME = "summary.md"
HTML_NAME = "report.html"
JUNIT_NAME = "junit.xml"
STEP_SUMMARY_MAX = 1024 * 1024 - 4096  # GitHub's cap on a job's step summary is 1 MiB
ICON = {ExitCode.OK: "✅", ExitCode.FAILED: "❌", ExitCode.INTERRUPTED: "⏹️", ExitCode.USAGE: "⚠️"}


def tool_version() -> str:
    try:
        return f"edgeverify {version('edgeverify')}"
    except PackageNotFoundError:
        return "edgeverify (not installed)"


# -- JSON: the one serializer, and its reader -------------------------------------------------------------

def to_json(run: RunResult) -> dict[str, Any]:
    """The schema-3 document (report_schema() describes it)."""
    status = run.exit_status
    return {
        "schema": SCHEMA, "tool": run.tool, "domain": run.domain, "target": run.target,
        "target_name": run.target_name, "started_at": timefmt.iso(run.started_at), "finished_at": timefmt.iso(run.finished_at),
        "wall_s": round(run.finished_at - run.started_at, 3),
        "exit_status": int(status), "verdict": status.verdict,
        "interrupted": run.interrupted, "note": run.note, "tls_verification": run.tls_verification,
        "fail_on": run.fail_on,
        "release": {"marker": run.release.marker, "gate": run.release.gate,
                    "served_after_s": run.release.served_after_s, "seen_at": run.release.seen_at,
                    "reason": run.release.reason,
                    "entry": None if run.release.entry is None else dict(run.release.entry)},
        "counts": run.counts(), "suites": run.suites(),
        "checks": [_check_json(c) for c in run.checks],
        "exchanges": {ref: dict(ex) for ref, ex in run.exchanges.items()},
        "network": None if run.network is None else {
            "requests": run.network.requests, "distinct": run.network.distinct,
            "connections": run.network.connections, "phase_s": run.network.phase_s},
        "edges": None if run.edges is None else dict(run.edges),
        "latency": None if run.latency is None else dict(run.latency),
        "security": None if run.security is None else dict(run.security),
        "predictions": [dict(p) for p in run.predictions],
        "history": None if run.history is None else dict(run.history),
        "history_error": run.history_error,
        "warnings": list(run.warnings),
    }


def _check_json(c: CheckResult) -> dict[str, Any]:
    f, a = c.finding, c.acceptance
    return {"id": c.id, "nodeid": c.nodeid, "rule": c.rule, "suite": c.suite, "summary": c.summary,
            "severity": c.severity, "key": c.key, "outcome": c.outcome.value, "message": c.message,
            "expected": f.expected if f else None, "actual": f.actual if f else None,
            "cause": f.cause if f else None, "reproduce": f.reproduce if f else None,
            "confirm": list(f.confirm) if f else [],
            "config": [{"rule": r, "verdict": v} for r, v in f.config] if f else [],
            "cross_check": f.cross_check() if f else None,
            "acceptance": None if a is None else {"reason": a.reason, "owner": a.owner, "expires": a.expires,
                                                  "expired": a.expired, "source": a.source},
            "attempts": c.attempts, "elapsed_s": c.elapsed_s, "converged_after_s": c.converged_after_s,
            "pops": list(c.pops), "exchanges": list(c.exchanges), "properties": [list(p) for p in c.properties],
            "consequence_of": c.consequence_of or None, "finding_exchange": f.exchange or None if f else None,
            "finding_root": f.root or None if f else None, **({"har": dict(c.har)} if c.har is not None else {})}


def from_json(doc: Mapping[str, Any]) -> RunResult:
    """A RunResult from a schema-3 document (validated first: see read_report)."""
    checks = []
    for c in doc["checks"]:
        finding = None if c.get("expected") is None and c.get("actual") is None else Finding(
            c.get("expected") or "", c.get("actual") or "", c.get("cause"), c.get("reproduce"),
            confirm=tuple(c.get("confirm") or ()),
            config=tuple((x["rule"], x["verdict"]) for x in c.get("config") or ()),
            exchange=c.get("finding_exchange") or "", root=c.get("finding_root") or "")
        a = c.get("acceptance")
        checks.append(CheckResult(
            id=c["id"], outcome=Outcome(c["outcome"]), rule=c.get("rule"), suite=c.get("suite"),
            summary=c.get("summary"), severity=c.get("severity"), nodeid=c.get("nodeid") or "",
            message=c.get("message"), finding=finding,
            acceptance=None if a is None else Acceptance(a["reason"], a["owner"], a["expires"], a["expired"],
                                                         a.get("source") or ""),
            attempts=c.get("attempts") or 0, elapsed_s=c.get("elapsed_s") or 0.0, key=c.get("key") or "",
            converged_after_s=c.get("converged_after_s"), pops=tuple(c.get("pops") or ()),
            exchanges=tuple(c.get("exchanges") or ()),
            properties=tuple((str(k), str(v)) for k, v in c.get("properties") or ()),
            consequence_of=c.get("consequence_of") or "", har=c.get("har")))
    r, n = doc["release"], doc.get("network")
    started = timefmt.epoch(doc["started_at"])
    return RunResult(
        domain=doc["domain"], target=doc["target"], target_name=doc["target_name"], tool=doc["tool"],
        started_at=started, finished_at=started + float(doc["wall_s"]), checks=tuple(checks),
        exchanges=doc.get("exchanges") or {}, tls_verification=doc["tls_verification"],
        release=Release(r.get("marker"), r["gate"], r.get("served_after_s"), r.get("seen_at"), r.get("reason"),
                        r.get("entry")),
        network=None if n is None else Network(n["requests"], n["distinct"], n["connections"], n.get("phase_s")),
        interrupted=doc.get("interrupted"), note=doc.get("note"), fail_on=doc.get("fail_on") or "any",
        history=doc.get("history"), history_error=doc.get("history_error"), edges=doc.get("edges"),
        latency=doc.get("latency"),
        security=doc.get("security"),
        predictions=tuple(doc.get("predictions") or ()),
        warnings=tuple(doc.get("warnings") or ()))


def read_report(path: Path) -> RunResult:
    """Read an edgeverify.json back, validated against the published schema; TargetError (exit 4) if it is not one."""
    import jsonschema

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"{path}: cannot be read as a report ({exc})") from None
    except json.JSONDecodeError as exc:
        raise TargetError(f"{path}, line {exc.lineno}: not JSON ({exc.msg}); expected an {JSON_NAME} report") from None
    if isinstance(doc, dict) and doc.get("schema") != SCHEMA:
        found = "no 'schema' key" if doc.get("schema") is None else f"schema {doc.get('schema')!r}"
        raise TargetError(f"{path}: {found}; this edgeverify reads schema {SCHEMA} reports. Re-run that shard "
                          "with the same edgeverify version as the others.")
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(report_schema()).iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        what = (f"{error.instance!r} is not a host name" if where == "domain" and error.validator == "pattern"
                else error.message)
        raise TargetError(f"{path}: not an {JSON_NAME} report of schema {SCHEMA}: "
                          + (f"key '{where}': {what}" if where else what))
    return from_json(doc)


def report_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of edgeverify.json."""
    from .history.latency import SCHEMA as latency_trend_schema

    text = {"type": ["string", "null"]}
    num = {"type": ["number", "null"]}
    check = {
        "type": "object",
        "required": ["id", "outcome", "rule", "suite", "message", "attempts", "exchanges"],
        "properties": {
            "id": {"type": "string", "minLength": 1}, "nodeid": {"type": "string"}, "rule": text, "suite": text,
            "summary": text, "severity": {"enum": ["fail", "advisory", None]}, "key": {"type": "string"},
            "outcome": {"enum": [o.value for o in OUTCOMES]}, "message": text, "expected": text, "actual": text,
            "cause": text, "reproduce": text,
            "confirm": {"type": "array", "items": {"type": "string"}},
            "config": {"type": "array", "items": {
                "type": "object", "required": ["rule", "verdict"],
                "properties": {"rule": {"type": "string"},
                               "verdict": {"enum": sorted(set(CROSS_CHECK.values()) | {"not run"})}}}},
            "cross_check": text, "consequence_of": text, "finding_exchange": text, "finding_root": text,
            "acceptance": {"oneOf": [{"type": "null"}, {
                "type": "object", "required": ["reason", "owner", "expires", "expired"],
                "properties": {"reason": {"type": "string"}, "owner": {"type": "string"},
                               "expires": {"type": "string", "format": "date"}, "expired": {"type": "boolean"},
                               "source": {"type": "string"}}}]},
            "attempts": {"type": "integer", "minimum": 0}, "elapsed_s": {"type": "number"},
            "converged_after_s": num, "pops": {"type": "array", "items": {"type": "string"}},
            "exchanges": {"type": "array", "items": {"type": "string"}},
            "properties": {"type": "array", "items": {"type": "array", "items": {"type": "string"},
                                                      "minItems": 2, "maxItems": 2}},
            # a failing browser check's requests, a HAR 1.2 excerpt (edgeverify/har.py); absent on other checks
            "har": {"type": "object", "required": ["log"],
                    "properties": {"log": {"type": "object", "required": ["version", "creator", "entries"],
                                           "properties": {"version": {"type": "string"},
                                                          "entries": {"type": "array",
                                                                      "items": {"type": "object"}}}}}}}}
    counts = {"type": "object", "required": [o.value for o in OUTCOMES],
              "properties": {o.value: {"type": "integer", "minimum": 0} for o in OUTCOMES}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://edgeverify.invalid/schema/report-{SCHEMA}.json",
        "title": "edgeverify run report (edgeverify.json)",
        "type": "object",
        "required": ["schema", "tool", "domain", "target", "target_name", "started_at", "finished_at", "wall_s",
                     "exit_status", "verdict", "tls_verification", "release", "counts", "suites", "checks",
                     "exchanges"],
        "properties": {
            "schema": {"const": SCHEMA}, "tool": {"type": "string"},
            "domain": {"type": "string", "pattern": r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?$"},
            "target": {"type": "string"}, "target_name": {"type": "string"},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": "string", "format": "date-time"}, "wall_s": {"type": "number", "minimum": 0},
            "exit_status": {"enum": [int(c) for c in ExitCode]},
            "verdict": {"enum": [c.verdict for c in ExitCode]},
            "interrupted": text, "note": text, "tls_verification": {"type": "boolean"},
            "fail_on": {"enum": ["any", "new"]},
            "release": {"type": "object", "required": ["gate"],
                        "properties": {"marker": text, "gate": {"enum": ["none", "passed", "failed"]},
                                       "served_after_s": num, "seen_at": num, "reason": text,
                                       "entry": {"type": ["object", "null"],  # skew.seen_entry: the release seen
                                                 "required": ["url", "sha256", "bytes", "assets"],
                                                 "properties": {"url": {"type": "string"},
                                                                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                                                "bytes": {"type": "integer", "minimum": 0},
                                                                "assets": {"type": "array", "items": {"type": "string"}},
                                                                "assets_total": {"type": "integer"},
                                                                "document": text}}}},
            "counts": counts, "suites": {"type": "object", "additionalProperties": counts},
            "checks": {"type": "array", "items": check},
            "exchanges": {"type": "object", "additionalProperties": {"type": "object"}},
            "network": {"type": ["object", "null"]}, "edges": {"type": ["object", "null"]},
            "latency": {"type": ["object", "null"]},
            "security": {"type": ["object", "null"], "required": ["score", "grade"],
                         "properties": {"score": {"type": "integer"}, "grade": {"type": "string"}}},
            "predictions": {"type": "array", "items": {
                "type": "object", "required": ["finding", "check", "status"],
                "properties": {"finding": {"type": "string"}, "check": {"type": "string"}, "status": {
                    "enum": ["confirmed", "not confirmed", "not judged", "not run"]}}}},
            "history": {"type": ["object", "null"], "properties": {"latency": latency_trend_schema}},
            "history_error": text,
            "warnings": {"type": "array", "items": {"type": "string"}}}}


# -- Markdown, terminal, JUnit ---------------------------------------------------------------------------

def headline(run: RunResult) -> str:
    """The run in one line: its verdict, exit status and counts."""
    status = run.exit_status
    counts = ", ".join(f"{n} {Outcome(o).label}" for o, n in run.counts().items() if n) or "no check"
    why = f" ({run.interrupted})" if run.interrupted else ""
    new_only = " (--fail-on new: only failures new since the last run fail it)" if run.fail_on == "new" else ""
    return f"{run.domain}: {status.verdict}{why}, exit {int(status)}: {counts}{new_only}"


def grade_line(block: Mapping[str, Any]) -> str:
    """The Observatory grade in one line, with the points lost."""
    lost = [f"{t['name']} {t['modifier']:+d}" for t in block.get("tests") or () if t.get("modifier", 0) < 0]
    return (f"Security grade {block.get('grade')} (score {block.get('score')}, computed as MDN HTTP Observatory does)"
            + (f"; points lost: {', '.join(lost)}" if lost else ""))


def predictions_line(run: RunResult) -> str:
    """The template's predictions checked at the edge, counted (the target's `template` key)."""
    counts: dict[str, int] = {}
    for p in run.predictions:
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    findings = len({p["finding"] for p in run.predictions})
    return (f"template predictions ({findings} template findings): "
            + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


def predictions_markdown(run: RunResult) -> list[str]:
    lines = ["", "## Template predictions", "",
             "What the target's template audit (`edgeverify audit`) predicted the edge would show, and what this run "
             "found: confirmed (the check failed), not confirmed (it passed), not judged, not run.", "",
             "| template finding | check at the edge | status |", "|---|---|---|"]
    return lines + [f"| `{p['finding']}` | `{p['check']}` | {p['status']} |" for p in run.predictions]


def suite_mark(counts: Mapping[str, int]) -> str:
    if counts[Outcome.FAILED.value] or counts[Outcome.COULD_NOT_JUDGE.value]:
        return "❌"
    if counts[Outcome.INTERRUPTED.value]:
        return "⏹️"
    if counts[Outcome.ADVISORY.value] or counts[Outcome.ACCEPTED.value]:
        return "⚠️"
    return "✅" if counts[Outcome.PASSED.value] else "➖"


def _check_text(c: CheckResult) -> str:
    text = (c.message or "").strip()
    if c.acceptance is not None:
        text = f"{text}\n  Known issue: {c.acceptance.note()}".strip()
    return text


def markdown(run: RunResult, limit: int | None = None) -> str:
    """A short summary: verdict, a row per suite, then each check that did not pass, in full.
    `limit`: at most that many bytes (the step summary), ending with a pointer to the full report."""
    status = run.exit_status
    lines = [f"# edgeverify: {run.domain} — {ICON[status]} {status.verdict} (exit {int(status)})", "",
             f"Target `{run.target}`, finished {_iso(run.finished_at)} in {run.finished_at - run.started_at:.1f} s. "
             + ", ".join(f"{n} {Outcome(o).label}" for o, n in run.counts().items() if n) + ".", ""]
    if run.interrupted:
        lines += [f"> **Interrupted** ({run.interrupted}): checks still running or retrying are shown as "
                  "interrupted, never as passed.", ""]
    if run.note:
        lines += [f"> **Run ended early:** {run.note}", ""]
    lines += [f"> **Warning:** {w}" for w in run.warnings] + ([""] if run.warnings else [])
    if run.fail_on == "new":
        lines += ["> `--fail-on new`: only failures new since the last run (and expired known issues) fail the run.",
                  ""]
    if not run.tls_verification:
        lines += ["> **TLS verification was OFF** (--insecure): certificates were not checked; do not trust a pass.", ""]
    if run.release.marker:
        waited = run.release.served_after_s
        lines += [f"Release `{run.release.marker}`: " + (
            f"served after {waited:.1f} s." if waited is not None else
            "not served (see failures)." if run.release.gate == "failed" else "not waited for."), ""]
    if run.security:
        lines += [grade_line(run.security), ""]
    heads = [o.label for o in OUTCOMES]
    lines += ["| suite | verdict | " + " | ".join(heads) + " |", "|---|---|" + "---|" * len(heads)]
    for suite, n in run.suites().items():
        lines.append(f"| {suite} | {suite_mark(n)} | " + " | ".join(str(n[o.value]) for o in OUTCOMES) + " |")
    if run.network:
        net = run.network
        lines += ["", f"{net.requests} requests on the wire ({net.distinct} distinct), {net.connections} connections."]
    if run.latency:
        from .latency import markdown as latency_markdown

        lines += ["", *latency_markdown(run.latency)]
    converged = [c for c in run.checks if c.converged_after_s]
    if converged:
        lines += ["", "## Convergence", ""]
        lines += [f"- `{c.id}` passed after {c.attempts} attempts, {c.converged_after_s:.1f} s" for c in converged]
    groups = (("Failures", sorted(run.bad(), key=lambda c: bool(c.consequence_of))),  # root findings first
              ("Accepted known issues", [c for c in run.checks if c.outcome is Outcome.ACCEPTED]),
              ("Advisory findings", [c for c in run.checks if c.outcome is Outcome.ADVISORY]))
    for title, group in groups:
        if group:
            lines += ["", f"## {title}", ""]
            for c in group:
                lines += [f"### `{c.id}`: {c.outcome.label}", "", f"Known issues name it `{c.key}`." if c.key
                          else "", "```", _check_text(c), "```", ""]
    if run.predictions:
        lines += predictions_markdown(run)
    if run.history:
        from .history import markdown as history_markdown

        lines += ["", history_markdown(dict(run.history)).strip()]
    if run.history_error:
        lines += ["", f"> Run history not recorded: {run.history_error}"]
    text = "\n".join(lines) + "\n"
    if limit is not None and len(text.encode()) > limit:
        cut = text.encode()[:limit - 400].decode(errors="ignore")
        text = cut.rsplit("\n", 1)[0] + (f"\n\n… cut at {limit} bytes: the full report is {HTML_NAME} and "
                                          f"{JSON_NAME} in the reports folder.\n")
    return text


def terminal(run: RunResult) -> list[str]:
    """The terminal summary: each check that did not pass with its outcome, then the headline."""
    lines = []
    if not run.tls_verification:
        lines.append("edgeverify: WARNING: TLS VERIFICATION IS OFF (--insecure): certificates were not checked; do not trust a pass.")
    for c in run.checks:
        if c.outcome is Outcome.ACCEPTED or (c.outcome is Outcome.FAILED and c.acceptance is not None):
            assert c.acceptance is not None
            lines.append(f"edgeverify: {c.outcome.label}: {c.key or c.id}: {c.acceptance.note()}")
        elif c.outcome is Outcome.INTERRUPTED:
            lines.append(f"edgeverify: interrupted: {c.id}")
        elif c.outcome is Outcome.ADVISORY:
            lines.append(f"edgeverify: advisory (not failing; --strict-advisories fails it): {c.message}")
        followers = [f.key or f.id for f in run.checks if f.consequence_of == c.id]
        if followers:  # one fault, one cause: the root named once, the checks failing because of it under it
            lines.append(f"edgeverify: one fault, {len(followers) + 1} failing checks: fix the {c.rule} finding "
                         f"first ({c.key if c.key and c.key != c.rule else c.id}); "
                         f"{', '.join(followers)} fail only because of it")
        cross = c.finding.cross_check() if c.finding and c.outcome is not Outcome.ADVISORY else None
        if cross:  # the failure itself was printed as it ended, before the config suite's rules were judged
            lines.append(f"edgeverify: config cross-check of {c.key or c.id}: {cross}")
    for c in run.checks:
        if c.converged_after_s:
            lines.append(f"edgeverify: converged: {c.id} passed after {c.attempts} attempts, "
                         f"{c.converged_after_s:.1f} s")
    if run.release.marker and run.release.served_after_s is not None:
        lines.append(f"edgeverify: release {run.release.marker} served after {run.release.served_after_s:.1f} s")
    if run.note:
        lines.append(f"edgeverify: {run.note}")
    if run.security:
        lines.append(f"edgeverify: {grade_line(run.security)}")
    lines += [f"edgeverify: WARNING: {w}" for w in run.warnings]
    if run.predictions:
        lines.append(f"edgeverify: {predictions_line(run)}")
    if run.history:
        from .history import terminal_lines

        lines += [f"edgeverify: history: {line}" for line in terminal_lines(dict(run.history))]
    if run.history_error:
        lines.append(f"edgeverify: WARNING: run history not recorded: {run.history_error}")
    lines.append(f"edgeverify: {headline(run)}")
    return lines


JUNIT_ELEMENT = {Outcome.FAILED: "failure", Outcome.COULD_NOT_JUDGE: "error", Outcome.INTERRUPTED: "error",
                 Outcome.SKIPPED: "skipped", Outcome.ACCEPTED: "skipped"}


def junit(run: RunResult) -> str:
    """JUnit XML (the schema Jenkins and GitLab read): a testcase per check; properties on the testsuite."""
    return junit_many([run])


def junit_many(runs: list[RunResult]) -> str:
    """One JUnit file for a run of many targets: a testsuite per target."""
    return ('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n'
            + "\n".join(ET.tostring(_testsuite(run), encoding="unicode") for run in runs) + "\n</testsuites>\n")


def junit_name(c: CheckResult) -> str:
    """A testcase's name: the rule id and subject (as known issues name it), then the check's own id."""
    return f"{c.key}: {c.id}" if c.rule and c.key and c.key != c.id else c.id


def _check_properties(c: CheckResult) -> list[tuple[str, str]]:
    """A check's rule, severity, attempts, likely cause and edges, as testsuite properties (junit-10.xsd has
    no testcase properties): named check[ID].FIELD."""
    fields = [("rule", c.rule or ""), ("severity", c.severity or ""), ("attempts", str(c.attempts))]
    fields += [("cause", c.finding.cause)] if c.finding and c.finding.cause else []
    cross = c.finding.cross_check() if c.finding else None
    fields += [("config", cross)] if cross else []
    fields += [("consequence_of", c.consequence_of)] if c.consequence_of else []
    fields += [("edge", " ".join(c.pops))] if c.pops else []
    return [(f"check[{c.id}].{name}", value) for name, value in fields]


def _testsuite(run: RunResult) -> ET.Element:
    counts = run.counts()
    suite = ET.Element("testsuite", {
        "name": run.domain, "tests": str(len(run.checks)),
        "failures": str(counts[Outcome.FAILED.value]),
        "errors": str(counts[Outcome.COULD_NOT_JUDGE.value] + counts[Outcome.INTERRUPTED.value]),
        "skipped": str(counts[Outcome.SKIPPED.value] + counts[Outcome.ACCEPTED.value]),
        "time": f"{run.finished_at - run.started_at:.3f}", "timestamp": _iso(run.started_at)})
    props = ET.SubElement(suite, "properties")
    for name, value in (("exit_status", int(run.exit_status)), ("verdict", run.exit_status.verdict),
                        ("interrupted", run.interrupted or ""), ("target", run.target)):
        ET.SubElement(props, "property", {"name": f"edgeverify.{name}", "value": str(value)})
    for c in run.checks:
        for name, value in _check_properties(c):
            ET.SubElement(props, "property", {"name": name, "value": value})
    for c in run.checks:
        classname = c.suite or "other"  # the suite; the testsuite around it names the domain
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": junit_name(c),
                                                 "time": f"{c.elapsed_s:.3f}", "file": run.target})
        element = JUNIT_ELEMENT.get(c.outcome)
        text = _check_text(c)
        if element is not None:
            first = (text.splitlines() or [c.outcome.label])[0]
            node = ET.SubElement(case, element, {"message": f"{c.outcome.label}: {first}"[:1000],
                                                 "type": c.outcome.value})
            node.text = text
        out = [f"advisory: {text}"] if c.outcome is Outcome.ADVISORY else []
        out += [f"{name}: {value}" for name, value in c.properties]  # Jenkins' schema has no testcase properties
        if out:
            ET.SubElement(case, "system-out").text = "\n".join(out)
    ET.indent(suite)
    return suite


# -- writing ---------------------------------------------------------------------------------------------

INSECURE_WARNING = ("edgeverify: WARNING: TLS VERIFICATION IS OFF (--insecure / insecure: true). "
                    "Certificates are not checked; do not trust a pass.")


def header(targets: list[Any]) -> list[str]:
    """The lines a run starts with: each target (the first ten), and TLS verification if it is off."""
    lines = [f"edgeverify: {t.domain} from {t.source}" + (f" via {' '.join(t.connect_to)}" if t.connect_to else "")
             + f"; propagation deadline {t.propagation.timeout:g} s" for t in targets[:10]]
    lines += [f"edgeverify: and {len(targets) - 10} more targets"] if len(targets) > 10 else []
    return lines + ([INSECURE_WARNING] if any(t.insecure for t in targets) else [])


def nothing_selected(keyword: str, markexpr: str) -> str:
    """What a run that selected no check says (it exits 4, bad input)."""
    selection = " ".join(f"{flag} {value!r}" for flag, value in (("-k", keyword), ("-m", markexpr)) if value)
    return (f"no check was selected{' by ' + selection if selection else ''}. "
            "`edgeverify rules` lists the rule ids and suites that -k and -m select.")


def run_exit_status(results: list[RunResult]) -> ExitCode:
    """The process's exit status: the run's, or with many targets the fleet's (model.fleet_exit_status)."""
    from .model import fleet_exit_status

    return fleet_exit_status(r.exit_status for r in results)


def terminal_run(results: list[RunResult]) -> list[str]:
    """The terminal summary of a run of one target, or of many (a line per target that did not pass)."""
    if len(results) == 1:
        return terminal(results[0])
    lines = [f"edgeverify: {headline(r)}" for r in results if r.exit_status is not ExitCode.OK]
    status = run_exit_status(results)
    passed = sum(r.exit_status is ExitCode.OK for r in results)
    return lines + [f"edgeverify: {len(results)} targets: {status.verdict}, exit {int(status)}: {passed} passed, "
                    f"{len(results) - passed} not passed"]


def write_run(results: list[RunResult], folder: Path, junit_path: Path | None, *, fleet: bool = False,
              combined: bool = True) -> list[Path]:
    """Every report of a run: one target's into `folder`; many targets' (or any with `fleet`) each into
    folder/<domain>/, then, when `combined`, the combined summary (write_combined)."""
    if len(results) == 1 and not fleet:
        return write_all(results[0], folder, junit_path=junit_path)
    for run in results:
        write_all(run, folder / run.domain, step_summary=False)
    return write_combined(results, folder, junit_path) if combined else []


def write_combined(results: list[RunResult], folder: Path, junit_path: Path | None = None) -> list[Path]:
    """Many targets' combined reports: summary.md and summary.html (a row per target), one JUnit file (a testsuite
    per target) and one CI step summary, size-capped."""
    docs = [to_json(r) for r in results]
    paths = write_fleet(docs, folder)
    junit_file = junit_path or folder / JUNIT_NAME
    junit_file.parent.mkdir(parents=True, exist_ok=True)
    junit_file.write_text(junit_many(results))
    return [*paths, junit_file]


def write_fleet(docs: list[dict[str, Any]], folder: Path | str) -> list[Path]:
    """summary.md and summary.html (a row per target) into folder, and the CI step summary (once, capped)."""
    from .fleet import SUMMARY_HTML, SUMMARY_MD, fleet_markdown
    from .html import render_fleet

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / SUMMARY_MD, out / SUMMARY_HTML
    text = fleet_markdown(docs)
    md.write_text(text, encoding="utf-8")
    page.write_text(render_fleet(docs), encoding="utf-8")
    _step_summary(text, "summary.html")
    return [md, page]


def _step_summary(text: str, full: str) -> None:
    """Append to the CI job's step summary, when the CI provides one, cut to GitHub's cap with a pointer."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    if len(text.encode()) > STEP_SUMMARY_MAX:
        text = text.encode()[:STEP_SUMMARY_MAX - 400].decode(errors="ignore").rsplit("\n", 1)[0] + (
            f"\n\n… cut at {STEP_SUMMARY_MAX} bytes: the full report is {full} in the reports folder.\n")
    with open(summary, "a", encoding="utf-8") as fh:
        fh.write(text)


def merge_command(inputs: list[str], output: str) -> int:
    """`edgeverify merge`: the combined summary and each target's report.html; the fleet's exit status."""
    from .fleet import merge
    from .html import write_run_html
    from .model import fleet_exit_status

    docs = merge(inputs)
    out = Path(output)
    try:
        written = write_fleet(docs, out)
        junit_file = out / JUNIT_NAME  # one combined JUnit file: a testsuite per target
        junit_file.write_text(junit_many([from_json(d) for d in docs]))
        for doc in docs:
            written.append(write_run_html(doc, out / doc["domain"]))
    except OSError as exc:
        raise TargetError(f"-o {output}: cannot write the summary there ({exc.strerror or exc})") from None
    bad = [d["domain"] for d in docs if d["exit_status"] != 0]
    print(f"edgeverify merge: {len(docs)} targets, " + (f"{len(bad)} not passed: {', '.join(bad)}" if bad
                                                         else "all passed"))
    for path in [*written[:2], junit_file]:
        print(f"edgeverify report: {path}")
    sys.stdout.flush()
    return int(fleet_exit_status(d["exit_status"] for d in docs))


def write_all(run: RunResult, folder: Path, *, junit_path: Path | None = None, step_summary: bool = True
              ) -> list[Path]:
    """Write the JSON, Markdown, JUnit and HTML reports (and the CI job summary when the CI provides one)."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = to_json(run)
    json_path = folder / JSON_NAME
    # Compact (C encoder): at thousands of exchanges an indented report costs seconds; `jq .` indents it.
    json_path.write_text(json.dumps(doc, separators=(",", ":"), default=str) + "\n")
    md_path = folder / MARKDOWN_NAME
    md_path.write_text(markdown(run))
    junit_file = junit_path or folder / JUNIT_NAME
    junit_file.parent.mkdir(parents=True, exist_ok=True)
    junit_file.write_text(junit(run))
    from .html import write_run_html

    paths = [json_path, md_path, junit_file, write_run_html(doc, folder)]
    if step_summary:
        _step_summary(markdown(run), HTML_NAME)
    return paths


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
