"""Reading a CloudFormation / SAM / `cdk synth` template: cfn-lint's decoder (short-form intrinsics, line marks)
and cfn-lint's schema validation first, so a template CloudFormation would refuse is bad input (exit 4), said
with its file, line and property path, never judged.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EdgeverifyError
from ..textfile import read_text

LINT_REGION = "us-east-1"  # CloudFront's region: the distribution's certificate and its global resources live there
MAX_TEMPLATE_BYTES = 1_048_576  # CloudFormation's own limit for a template given to it through S3 is 1 MB


class TemplateError(EdgeverifyError):
    """The template cannot be judged: unreadable, not CloudFormation, refused by cfn-lint, or a reference that
    names nothing. The message names file, line and property path."""


@dataclass(slots=True)
class LintNote:
    """A cfn-lint warning or informational match: shown, never failing the audit."""

    rule: str
    line: int
    path: str
    message: str


@dataclass(slots=True)
class Template:
    path: str
    data: dict[str, Any]  # as decoded: cfn-lint's nodes, each mapping and key with its line marks
    text: str
    kind: str  # "cloudformation", "sam" or "cdk" (cdk synth output)
    syntax: str  # "yaml" or "json": the syntax suggestions are written in
    notes: list[LintNote] = field(default_factory=list)

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.data.get("Resources") or {})


def line_of(node: Any) -> int | None:
    """1-based line of a decoded node (a mapping, a list or a string), None for numbers and booleans."""
    mark = getattr(node, "start_mark", None)
    return None if mark is None else int(mark.line) + 1


def key_line(mapping: Any, key: str) -> int | None:
    """1-based line of `key` in a decoded mapping (the key's own mark), else the mapping's line."""
    for k in mapping or {}:
        if k == key:
            return line_of(k) or line_of(mapping)
    return line_of(mapping)


def _path(parts: Any) -> str:
    out = ""
    for part in parts or []:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _kind(data: dict[str, Any]) -> str:
    transform = data.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if any(isinstance(t, str) and t.startswith("AWS::Serverless") for t in transforms):
        return "sam"
    resources = data.get("Resources") or {}
    bootstrap = str(((data.get("Parameters") or {}).get("BootstrapVersion") or {}).get("Default") or "")
    if bootstrap.startswith("/cdk-bootstrap/") or "CDKMetadata" in resources or any(isinstance(r, dict) and "aws:cdk:path" in (r.get("Metadata") or {})
                                         for r in resources.values()):
        return "cdk"
    return "cloudformation"


def read(path: str | Path, lint: bool = True) -> Template:
    """The decoded, validated template; TemplateError (file, line, path) when it cannot be judged."""
    name = str(path)
    text = read_text(path, f"Template {name}", TemplateError,
                     missing=" (give a CloudFormation, SAM or cdk synth template file)",
                     too_large=" (CloudFormation's limit)", kind="a YAML or JSON template", limit=MAX_TEMPLATE_BYTES)
    from cfnlint.decode import decode

    data, matches = decode(name)
    if matches:
        first = matches[0]
        raise TemplateError(f"Template {name}, line {first.linenumber}: cannot be parsed: {first.message} "
                            "(fix the YAML or JSON syntax; cfn-lint's decoder reads it as CloudFormation does).")
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"Template {name}: not a CloudFormation template (no 'Resources' mapping at the top).")
    stripped = text.lstrip()
    syntax = "json" if stripped.startswith("{") else "yaml"
    if syntax == "json":
        try:
            json.loads(text)
        except ValueError:
            syntax = "yaml"
    template = Template(name, data, text, _kind(data), syntax)
    if lint:
        template.notes = _lint(text, name)
    return template


@functools.cache
def _rules() -> Any:
    """cfn-lint's rules, loaded once per process (loading them is most of a small template's lint time)."""
    from cfnlint.api import ConfigMixIn, Runner

    return Runner(ConfigMixIn(regions=[LINT_REGION])).rules


def _lint(text: str, name: str) -> list[LintNote]:
    """cfn-lint's findings: errors are bad input (TemplateError, every error listed), the rest are notes."""
    errors, notes = _matches(text)
    if errors is None:
        raise TemplateError(f"Template {name}: cfn-lint could not validate it ({notes[0].message}).")
    if errors:
        first = errors[0]
        listed = "; ".join(f"line {e.line}: {e.rule} {_short(e.message)}" for e in errors[1:4])
        more = f" Also: {listed}." if listed else ""
        raise TemplateError(f"Template {name}, line {first.line}{f', property {first.path}' if first.path else ''}: "
                            f"cfn-lint {first.rule}: {_short(first.message, 400)} (CloudFormation would refuse this template; "
                            f"{len(errors)} error{'s' if len(errors) > 1 else ''} in all).{more}")
    return list(notes)


@functools.lru_cache(maxsize=32)
def _matches(text: str) -> tuple[tuple[LintNote, ...] | None, tuple[LintNote, ...]]:
    """(errors, other notes) cfn-lint finds in a template text, kept for the same text (an audit run twice, for
    annotations and for the job summary, lints once); errors None: cfn-lint itself failed (notes[0] says how)."""
    from cfnlint.api import lint

    try:
        matches = lint(text, rules=_rules(), regions=[LINT_REGION])
    except Exception as exc:  # noqa: BLE001 - a linter crash on a strange template is bad input, not a traceback
        return None, (LintNote("", 0, "", f"{type(exc).__name__}: {exc}"),)
    errors: list[LintNote] = []
    notes: list[LintNote] = []
    for m in matches:
        where = _path(getattr(m, "path", None))
        note = LintNote(str(m.rule.id), int(m.linenumber or 0), where, str(m.message))
        (errors if str(m.rule.severity).lower() == "error" else notes).append(note)
    return tuple(errors), tuple(notes)
