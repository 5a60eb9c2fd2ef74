"""The JSON Schema of the target file (`edgeverify schema target`), made from target.py's dataclasses.

The schema is for editors (yaml-language-server completes keys and flags mistakes as you type) and for
other tools; target.py's loader stays the judge. It is derived from the same dataclasses, RANGES and
formats the loader checks, so a new key or range shows up in both; tests/unit/test_target_schema.py keeps
them in step both ways: every example target and every fuzzed target the loader accepts, the schema
accepts, and every structural mistake the schema refuses, the loader refuses too. What only the loader can
judge (a CA bundle that exists, a regular expression that compiles, a host name IDNA accepts, one value
against another, ${VAR} substitution) the schema leaves to it.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Union

from . import target as t
from .errors import TargetError

SCHEMA_FILE = "edgeverify-target.schema.json"
SCHEMA_ID = "https://edgeverify.invalid/schema/target.json"
SCHEMA_LINE = f"# yaml-language-server: $schema={SCHEMA_FILE}"

_NO_CONTROL = "^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f\\u0085\\u2028\\u2029]*$"
_PATH = "^/[^\\s#]*$"
_TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
_PATH_KEYS = {"path", "prefix", "unknown_path", "pages", "assets", "deep_links", "paths", "never_cached",
              "exposure_paths"}
_EDGES_RANGES = {"max_edges": (1, 100), "concurrency": (1, 64)}


def _anycase(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _text(pattern: str | None = None, *, numbers: bool = True) -> dict[str, Any]:
    """A text value: the loader also takes a number written where text is expected (it keeps what was written)."""
    text: dict[str, Any] = {"type": "string", "maxLength": t.MAX_TEXT, "pattern": _NO_CONTROL}
    if pattern:
        text = {"allOf": [text, {"type": "string", "pattern": pattern}]}
    # A number where text is expected is kept as written (1.0e-09 stays "1.0e-09"), which JSON cannot show.
    return {"anyOf": [text, {"type": "number"}]} if numbers else text


def _type(tp: Any, path: str, key: str) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (Union, getattr(__import__("types"), "UnionType")):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return {"anyOf": [_type(options[0], path, key), {"type": "null"}]}
    if dataclasses.is_dataclass(tp):
        return _object(tp, path)
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": _type(item, path, key)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _text()}
    if tp is Any:
        return {}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    return _text()


def _section(tp: Any) -> str | None:
    return t._SECTIONS.get(tp.__name__)


def _object(tp: Any, path: str) -> dict[str, Any]:
    hints, fields = t._schema(tp)
    props: dict[str, Any] = {}
    section = _section(tp)
    for name, f in fields.items():
        schema = _type(hints[name], path, name)
        _refine(tp, name, schema, section)
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        if default is not dataclasses.MISSING and not dataclasses.is_dataclass(default) and default is not None:
            schema["default"] = default
        props[name] = schema
    for old, new in t._ALIASES.get(tp.__name__, {}).items():
        props[old] = {**props[new], "deprecated": True, "description": f"old name of {new}"}
    required = [f.name for f in fields.values() if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        out["required"] = required
    return out


def _leaf(schema: dict[str, Any]) -> dict[str, Any]:
    """The part of a field's schema that constrains the value itself (a list's items, an optional's value)."""
    if schema.get("type") == "array":
        return _leaf(schema["items"])
    if "anyOf" in schema and schema["anyOf"][-1] == {"type": "null"}:
        return _leaf(schema["anyOf"][0])
    return schema


def _refine(tp: Any, name: str, schema: dict[str, Any], section: str | None) -> None:
    """Ranges, formats and lengths the loader checks, on the field `name` of dataclass `tp`."""
    leaf = _leaf(schema)
    limits = t.RANGES.get(f"{section}.{name}" if section else name) if section is not None else None
    limits = limits or (_EDGES_RANGES.get(name) if tp is t.Edges else None)
    if limits is not None:
        leaf.update(minimum=limits[0], maximum=limits[1])
    if name in _PATH_KEYS:
        leaf.clear()
        leaf.update(_text(_PATH, numbers=False))
    kind = tp.__name__
    if name == "method" or (kind == "Cors" and name == "methods"):
        leaf.clear()
        leaf.update(_text("^(?:" + "|".join(_anycase(m) for m in t.HTTP_METHODS) + ")$", numbers=False))
    if kind == "Cors" and name == "request_headers":
        leaf.clear()
        leaf.update(_text(_TOKEN))
    if kind == "Cors" and name == "allowed_origins":
        leaf.clear()
        leaf.update(_text("^https?://[^/\\s?#@]+$", numbers=False))
    if kind == "Expect" and name == "content_type":
        leaf.clear()
        leaf.update(_text("^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+$", numbers=False))
    if kind == "Aws" and name in t._AWS_FORMATS:
        leaf.clear()
        leaf.update(_text(f"^(?:{t._AWS_FORMATS[name][0]})$"))
    if kind == "Edges" and name == "mode":
        leaf.clear()
        leaf.update(enum=["nearest", "dns", "regions", "addresses"])
    if kind == "Security" and name in ("min_grade", "source_maps"):
        from .observatory import GRADES

        leaf.clear()
        leaf.update(enum=list(GRADES) if name == "min_grade" else ["advisory", "fail"])
    if kind == "Origins":  # the endpoint's kind (S3 REST, website, execute-api) is the loader's to judge
        leaf.clear()
        leaf.update(_text("^(?:[Hh][Tt][Tt][Pp][Ss]?)://[^\\s/?#@:]+(?:/[^?#\\s]*)?$", numbers=False))
    if kind == "Edges" and name == "dns_timeout":
        leaf.update(exclusiveMinimum=0, maximum=30)
    if kind == "Target" and name == "domain":
        leaf.clear()
        leaf.update(_text("^[^\\s/?#@:]+(?::[0-9]{1,5})?$|^\\[[0-9A-Fa-f:.]+\\](?::[0-9]{1,5})?$"))
    if kind == "Propagation" and name == "release_marker":
        leaf.clear()
        leaf.update(_text("\\S"))
    if name == "headers":
        reserved = "|".join(_anycase(h) for h in sorted(t.RESERVED_HEADERS))
        schema["propertyNames"] = {"pattern": _TOKEN, "not": {"pattern": f"^(?:{reserved})$"}}
    if (kind, name) in (("Static", "pages"), ("Https", "redirect_statuses")):
        schema["minItems"] = 1


def target_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a target file."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "edgeverify target file (one domain: CloudFront + S3 + API Gateway)",
            "description": "Validated by `edgeverify check-target FILE`; this schema is for editors.",
            **_object(t.Target, "")}


def write_starter(domain: str, output: str | None, *, force: bool = False) -> Path:
    """`edgeverify init`: a starter target for DOMAIN, with the schema line, and the schema file beside it."""
    try:
        host = t.normalize_host(domain)
    except ValueError as exc:
        raise TargetError(f"edgeverify init: {domain!r}: {exc}.") from None
    path = Path(output or f"targets/{host}.yaml")
    if path.exists() and not force:
        raise TargetError(f"edgeverify init: {path} exists; give --force to overwrite it, or -o another file.")
    text = (f"{SCHEMA_LINE}\n# The domain edgeverify verifies from the outside: `edgeverify run {path}`.\n"
            f"domain: {host}\nstatic:\n  pages: [/]\napi:\n  prefix: /api/\n  calls: []  # e.g. - path: /api/health\n"
            "spa:\n  deep_links: []  # e.g. [/settings]\npropagation:\n  timeout: 0  # seconds to wait for a release\n")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        write_schema_beside(path)
    except OSError as exc:
        raise TargetError(f"edgeverify init: cannot write {path} ({exc.strerror or exc}).") from None
    t.load_target(path)  # what init writes is always a valid target
    return path


def write_schema_beside(target_file: Path) -> Path:
    """The schema file the target's yaml-language-server line names, written in the target's folder."""
    import json

    path = target_file.parent / SCHEMA_FILE
    path.write_text(json.dumps(target_schema(), indent=2) + "\n", encoding="utf-8")
    return path
