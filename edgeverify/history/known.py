"""Known issues: failures a team accepts until a date, read from a YAML file validated like a target.

    known_issues:
      - rule: cache.immutable_assets          # a rule id (edgeverify rules)
        item: "/assets/vendor-*"               # optional glob on the check's subject (a path, call, origin),
                                               # or on its key "cache.immutable_assets[/assets/vendor-1.js]"
                                               # as reports show it: * and ? only, brackets literal
        reason: vendor bundle re-uploaded without a fingerprint; fix in PLAT-123
        owner: web-platform
        expires: 2026-12-31                    # accepted through this day (UTC), failing from the next
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from ..textfile import read_text
from .errors import KnownIssuesError

if TYPE_CHECKING:
    from ..model import RunResult

TOP_KEY = "known_issues"
KEYS = ("rule", "item", "reason", "owner", "expires")
REQUIRED = ("rule", "reason", "owner", "expires")


@dataclass(frozen=True, slots=True)
class KnownIssue:
    rule: str
    item: str
    reason: str
    owner: str
    expires: dt.date
    line: int = 0

    def matches(self, check: dict[str, Any]) -> bool:
        """This issue covers `check` (a report's check entry): the same rule, and the glob matches its subject,
        its key (rule[subject], as reports show it) or its id."""
        if check.get("rule") != self.rule:
            return False
        pattern = _glob(self.item)
        return any(pattern.fullmatch(str(check.get(k) or "")) is not None for k in ("subject", "key", "id"))

    def expired(self, today: dt.date) -> bool:
        return today > self.expires


@dataclass(frozen=True, slots=True)
class KnownIssues:
    source: str
    issues: tuple[KnownIssue, ...]

    def match(self, check: dict[str, Any]) -> KnownIssue | None:
        """The first issue covering `check`, or None."""
        return next((i for i in self.issues if i.matches(check)), None)


def warn_unmatched(results: list[RunResult], known: KnownIssues) -> list[RunResult]:
    """The results with a warning for each known issue that matches no check of the run (a typo'd item, a renamed
    check, a fixed fault): an acceptance that accepts nothing is worth knowing about."""
    checks = [{"rule": c.rule, "id": c.id, "key": c.key, "subject": c.subject} for r in results for c in r.checks]
    said = tuple(f"known issue {known.source}, line {i.line}: rule {i.rule}, item {i.item!r} matches no check of "
                 "this run" for i in known.issues if not any(i.matches(c) for c in checks))
    return [dataclasses.replace(r, warnings=(*r.warnings, *said)) for r in results]


def load_known_issues(path: str | os.PathLike[str], rules: list[str] | None = None) -> KnownIssues:
    """Read and validate a known-issues file, or raise KnownIssuesError naming file, line and key.

    `rules` is the list of valid rule ids (default: every registered rule)."""
    name = str(path)
    text = read_text(path, f"Known issues file {name}", KnownIssuesError)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise KnownIssuesError(f"Known issues file {name}{where}: YAML syntax error: "
                               f"{getattr(exc, 'problem', None) or exc}.") from None
    if node is None:
        raise KnownIssuesError(f"Known issues file {name}: empty; it needs a '{TOP_KEY}:' list.")
    if rules is None:
        from ..rules import RULES, load_all

        load_all()
        rules = list(RULES)
    return KnownIssues(name, tuple(_issues(node, name, rules)))


def _fail(file: str, node: yaml.Node, key: str, message: str) -> KnownIssuesError:
    where = f", key '{key}'" if key else ""
    return KnownIssuesError(f"Known issues file {file}, line {node.start_mark.line + 1}{where}: {message}")


def _hint(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else f" Known: {', '.join(known)}."


def _issues(node: yaml.Node, file: str, rules: list[str]) -> list[KnownIssue]:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(file, node, "", f"expected a mapping with a '{TOP_KEY}:' list at the top level.")
    entries: yaml.Node | None = None
    for key_node, value_node in node.value:
        if key_node.value != TOP_KEY:
            raise _fail(file, key_node, str(key_node.value),
                        f"unknown key '{key_node.value}'.{_hint(str(key_node.value), [TOP_KEY])}")
        entries = value_node
    if entries is None:
        raise _fail(file, node, "", f"missing required key '{TOP_KEY}'.")
    if isinstance(entries, yaml.ScalarNode) and entries.tag == "tag:yaml.org,2002:null":
        return []
    if not isinstance(entries, yaml.SequenceNode):
        raise _fail(file, entries, TOP_KEY, "expected a list of known issues.")
    return [_issue(n, file, f"{TOP_KEY}[{i}]", rules) for i, n in enumerate(entries.value)]


def _issue(node: yaml.Node, file: str, where: str, rules: list[str]) -> KnownIssue:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(file, node, where, "expected a mapping with keys " + ", ".join(KEYS) + ".")
    values: dict[str, Any] = {}
    lines: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key not in KEYS:
            raise _fail(file, key_node, f"{where}.{key}", f"unknown key '{key}'.{_hint(key, list(KEYS))}")
        if not isinstance(value_node, yaml.ScalarNode):
            raise _fail(file, value_node, f"{where}.{key}", "expected a single value, not a list or mapping.")
        values[key] = yaml.SafeLoader("").construct_object(value_node, deep=True)
        lines[key] = value_node
    missing = [k for k in REQUIRED if k not in values]
    if missing:
        raise _fail(file, node, where, f"missing required key '{missing[0]}'.")
    for key in ("rule", "item", "reason", "owner"):
        if key in values and (not isinstance(values[key], str) or not values[key].strip()):
            raise _fail(file, lines[key], f"{where}.{key}", "expected non-empty text.")
    if values["rule"] not in rules:
        raise _fail(file, lines["rule"], f"{where}.rule", f"unknown rule id '{values['rule']}'."
                    + _hint(values["rule"], rules).replace(" Known: ", " Rule ids: "))
    expires = values["expires"]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires.strip())
        except ValueError:
            pass
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise _fail(file, lines["expires"], f"{where}.expires", f"'{values['expires']}' is not a date "
                    "(write YYYY-MM-DD, e.g. 2026-12-31).")
    return KnownIssue(rule=values["rule"], item=values.get("item", "*"), reason=values["reason"].strip(),
                      owner=values["owner"].strip(), expires=expires, line=node.start_mark.line + 1)


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """A glob with * and ? only (check ids hold brackets, which stay literal)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)
