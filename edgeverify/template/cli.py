"""`edgeverify audit TEMPLATE... [--target FILE] [--domain D] [--format text|json|github] [--confirm REPORT]`.

The config rules on CloudFormation / SAM / `cdk synth` templates, before the deploy. Exit codes as for runs:
0 no rule failed, 1 a rule failed on a template, 4 bad input (a template cfn-lint or CloudFormation would refuse,
an unresolvable reference, a bad target file, no distribution in any template).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import EdgeverifyError
from ..model import ExitCode, fleet_exit_status
from ..redact import redact
from . import audit as audit_mod
from .audit import TemplateAudit


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edgeverify audit",
        description="Judge CloudFormation, SAM or `cdk synth` templates with the config suite's rules, before the "
                    "deploy: each finding with its file, line and property path, the change to make, and the "
                    "outside check that will show it once deployed.",
        epilog="exit codes: 0 no rule failed, 1 a rule failed, 4 bad input")
    p.add_argument("templates", nargs="*", metavar="TEMPLATE", help="template files (YAML or JSON)")
    p.add_argument("--target", metavar="FILE", help="a target file: its domain, its api.calls and its template key")
    p.add_argument("--domain", help="the domain the distribution serves (config.aliases; default: the target's)")
    p.add_argument("--region", default="us-east-1", help="AWS::Region for resolving the template (default us-east-1)")
    p.add_argument("--format", choices=["text", "json", "github", "markdown"], default="text",
                   help="text (default), json, github (workflow annotations on the template lines), or markdown "
                        "(a job summary or pull-request comment)")
    p.add_argument("--confirm", metavar="REPORT", help="a deployed run's edgeverify.json: say whether each "
                                                       "prediction was confirmed at the edge")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        audits, run = _audits(args)
    except EdgeverifyError as exc:
        print(f"edgeverify audit: {redact(str(exc))}", file=sys.stderr)
        return int(ExitCode.USAGE)
    status = fleet_exit_status(a.exit_status for a in audits)
    confirmations = audit_mod.confirm([f for a in audits for f in a.findings], run) if run is not None else None
    if args.format == "json":
        print(redact(json.dumps(to_json(audits, status, confirmations), indent=2)))
    elif args.format == "github":
        print(redact(github(audits)))
    elif args.format == "markdown":
        print(redact(markdown(audits, status, confirmations)))
    else:
        print(redact(text(audits, status, confirmations)))
    return int(status)


def _audits(args: argparse.Namespace) -> tuple[list[TemplateAudit], Any]:
    domain, calls, templates = args.domain, [], list(args.templates)
    if args.target:
        from ..target import load_target

        target = load_target(args.target)
        domain = domain or target.domain
        calls = [(c.method, c.path) for c in target.api.calls]
        if target.template and not templates:
            templates = [target.template]
    if not templates:
        raise EdgeverifyError("no template: give TEMPLATE files, or a --target whose 'template' key names one.")
    run = None
    if args.confirm:
        from pathlib import Path

        from ..reports import read_report

        run = read_report(Path(args.confirm))
    audits = [audit_mod.audit_template(path, domain, calls, args.region) for path in dict.fromkeys(templates)]
    if not any(a.audits for a in audits):
        raise EdgeverifyError(f"no AWS::CloudFront::Distribution in {', '.join(templates)}: nothing to audit "
                              "(is this the stack that holds the distribution?).")
    return audits, run


def _counts(outcomes: dict[str, Any]) -> str:
    counted: dict[str, int] = {}
    for o in outcomes.values():
        counted[o.value] = counted.get(o.value, 0) + 1
    return ", ".join(f"{n} {name}" for name, n in counted.items())


def text(audits: list[TemplateAudit], status: ExitCode, confirmations: list[Any] | None = None) -> str:
    out = []
    for a in audits:
        t = a.template
        if not a.audits:
            out.append(f"{t.path} ({t.kind}): no AWS::CloudFront::Distribution; nothing to audit.")
            continue
        for d in a.audits:
            out.append(f"{t.path} ({t.kind}): distribution {d.distribution.logical_id}: {len(d.outcomes)} rules, "
                       f"{_counts(d.outcomes)}")
            out += ["", *[f.render() + "\n" for f in d.findings]]
            passed = [r for r, o in d.outcomes.items() if o.value == "passed"]
            if passed:
                out.append(f"Passed: {', '.join(passed)}")
            for rule, why in d.not_judged.items():
                out.append(f"Not judged: {rule}: {why}")
            dist = d.distribution
            if dist.filled:
                out.append("Defaults used where the template omits a property (as CloudFront will): "
                           + "; ".join(dist.filled))
            for name in dist.names:
                out.append(f"Resolved: {name}")
            if dist.resolver is not None:
                for u in dist.resolver.unresolved:
                    out.append(f"Not resolved: {t.path}:{u.line or '?'} {u.path}: {u.what}")
            refs = [f"{o} -> {', '.join(r)}" for o, r in dist.origin_refs.items() if r]
            if refs:
                out.append(f"Origins refer to: {'; '.join(refs)}")
        from .convert import inventory

        found = inventory(t)
        if found:
            out.append("Around it: " + ", ".join(f"{what} {lid} (line {line})" for what, lid, line in found))
        for note in t.notes:
            out.append(f"cfn-lint {note.rule} (line {note.line}): {note.message}")
        out.append("")
    if confirmations is not None:
        out.append("Predictions against the deployed run:")
        out += [f"  {c.finding} -> {c.check}: {c.status}" for c in confirmations]
        out.append("")
    out.append(f"edgeverify audit: {status.verdict} (exit {int(status)})")
    return "\n".join(out)


def to_json(audits: list[TemplateAudit], status: ExitCode, confirmations: list[Any] | None = None) -> dict[str, Any]:
    def finding(f: audit_mod.TemplateFinding) -> dict[str, Any]:
        v = f.violation
        return {"rule": f.rule, "severity": v.rule.severity, "distribution": f.distribution,
                "expected": v.expected, "actual": v.actual, "cause": v.cause, "change": f.change, "cdk": f.cdk,
                "predicts": list(f.predicts),
                "locations": [{"file": loc.file, "line": loc.line, "path": loc.path, "written": loc.written}
                              for loc in f.locations]}

    return {
        "templates": [{
            "file": a.template.path, "kind": a.template.kind,
            "lint_notes": [{"rule": n.rule, "line": n.line, "path": n.path, "message": n.message}
                           for n in a.template.notes],
            "distributions": [{
                "logical_id": d.distribution.logical_id,
                "outcomes": {r: o.value for r, o in d.outcomes.items()},
                "not_judged": d.not_judged, "findings": [finding(f) for f in d.findings],
                "defaults": d.distribution.filled, "resolved_names": d.distribution.names,
                "unresolved": [{"path": u.path, "line": u.line, "what": u.what}
                               for u in (d.distribution.resolver.unresolved if d.distribution.resolver else [])],
            } for d in a.audits]} for a in audits],
        "confirmations": None if confirmations is None else [
            {"finding": c.finding, "check": c.check, "status": c.status} for c in confirmations],
        "exit_status": int(status), "verdict": status.verdict,
    }


def _escape(value: str, prop: bool = False) -> str:
    out = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return out.replace(":", "%3A").replace(",", "%2C") if prop else out


def github(audits: list[TemplateAudit]) -> str:
    """GitHub workflow commands: one annotation per finding location, on the template's line."""
    lines = []
    for f in (f for a in audits for f in a.findings):
        level = "warning" if f.violation.advisory else "error"
        message = f"{f.violation.actual}\nChange: {f.change}\nAfter the deploy: {audit_mod.prediction_text(f)}"
        for loc in f.locations:
            line = f",line={loc.line}" if loc.line else ""
            lines.append(f"::{level} file={_escape(loc.file, True)}{line},title={_escape(f.rule, True)}::"
                         f"{_escape(message)}")
    return "\n".join(lines)


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", "<br>")


def markdown(audits: list[TemplateAudit], status: ExitCode, confirmations: list[Any] | None = None) -> str:
    """The audit as Markdown: a line per distribution, a row per finding location, the predictions' fate."""
    out = [f"## edgeverify audit: {status.verdict}", ""]
    for a in audits:
        for d in a.audits:
            out.append(f"- `{a.template.path}` ({a.template.kind}), distribution `{d.distribution.logical_id}`: "
                       f"{len(d.outcomes)} rules, {_counts(d.outcomes)}")
    findings = [f for a in audits for f in a.findings]
    if findings:
        out += ["", "| rule | where | actual | change | after the deploy |", "|---|---|---|---|---|"]
        for f in findings:
            where = "<br>".join(_cell(str(loc)) for loc in f.locations)
            out.append(f"| `{f.rule}` | {where} | {_cell(f.violation.actual)} | <pre>{_cell(f.change)}</pre> | "
                       f"{_cell(', '.join(f.predicts) or 'config suite only')} |")
    if confirmations is not None:
        out += ["", "| template finding | check after the deploy | status |", "|---|---|---|"]
        out += [f"| `{c.finding}` | `{c.check}` | {c.status} |" for c in confirmations]
    return "\n".join(out)
