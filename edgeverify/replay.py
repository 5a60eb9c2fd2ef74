"""pytest's side of the engine: items as the engine's checks, and their outcomes told back to pytest.

A check is not run by pytest at all: the engine runs it (`check_of`), and `report` sends pytest the reports
its protocol would have made (setup, call, teardown), so the terminal, -x, --lf and other plugins see the
outcome decided once.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import pytest

from .errors import NotApplicable
from .model import CheckInfo, CheckResult, Outcome, Verdict
from .redact import redact
from .rules import RULES

ENGINE_ARGS = frozenset({"edge", "target"})  # what the engine gives a check, with the target's parameters


@functools.lru_cache(maxsize=None)
def argnames(fn: Any) -> frozenset[str]:
    return frozenset(inspect.signature(fn).parameters)


def params(item: pytest.Item) -> dict[str, Any]:
    return dict(getattr(getattr(item, "callspec", None), "params", {}))


def check_info(item: pytest.Item, rule_id: str, domain: str, many: bool) -> CheckInfo:
    """The check an item is, its id the same in a fleet as alone (no domain in it); a UsageError for a function
    taking what the engine cannot give."""
    extra = argnames(getattr(item, "obj", None)) - ENGINE_ARGS - set(params(item))
    if extra or not isinstance(item, pytest.Function) or "edge" not in argnames(item.obj):
        raise pytest.UsageError(f"{item.nodeid}: a check takes edge, target and the target's page, api_call or "
                                f"deep_link ({', '.join(sorted(extra)) or 'no edge'} given): the engine runs it")
    name = item.name.replace(f"[{domain}]", "").replace(f"{domain}-", "") if many else item.name
    rule = RULES[rule_id]
    subject = name[name.index("[") + 1:-1] if name.endswith("]") and "[" in name else ""
    return CheckInfo(f"{Path(str(item.path)).name}::{name}", rule.id, rule.suite, rule.summary, rule.severity,
                     redact(item.nodeid), subject)


def check_of(item: pytest.Item, info: CheckInfo, engine: Any) -> Any:
    """The item as the engine's check (engine.Check); None for one pytest itself skips (an empty parameter set),
    whose verdict is then recorded as skipped."""
    from .engine import Check

    skip = item.get_closest_marker("skip")
    if skip is not None:
        engine.record(info.id, Verdict("skipped", NotApplicable(
            str(skip.kwargs.get("reason") or (skip.args or ["skipped"])[0]))))
        return None
    fn = getattr(item, "obj")
    kwargs = {"target": engine.target, **params(item)}
    return Check(info, fn, {k: v for k, v in kwargs.items() if k in argnames(fn) - {"edge"}},
                 gated=item.get_closest_marker("release_independent") is None,
                 retry=item.get_closest_marker("judged_once") is None)


def _text(result: CheckResult) -> str:
    text = result.message or result.outcome.label
    if result.outcome is Outcome.FAILED:
        return text + (f"\n  Known issue: {result.acceptance.note()}" if result.acceptance else "")
    return f"{result.outcome.label.upper()}: {text}" if result.outcome.bad else text


def report(item: pytest.Item, result: CheckResult, location: tuple[str, int | None, str]) -> None:
    """The reports pytest's protocol makes, for an outcome decided elsewhere (nothing is set up or run)."""
    hook, outcome = item.ihook, result.outcome
    hook.pytest_runtest_logstart(nodeid=item.nodeid, location=location)
    phases: list[tuple[Any, Any, Any]] = [("setup", "passed", None), ("call", "passed", None)]
    if outcome is Outcome.SKIPPED:
        phases = [("setup", "skipped", (str(location[0]), (location[1] or 0) + 1, f"Skipped: {_text(result)}"))]
    elif outcome in (Outcome.COULD_NOT_JUDGE, Outcome.INTERRUPTED):  # an error, as pytest says it
        phases = [("setup", "failed", _text(result))]
    elif outcome is Outcome.FAILED:
        phases[1] = ("call", "failed", _text(result))
    elif outcome is Outcome.ACCEPTED:
        phases[1] = ("call", "skipped", None)
    keywords: dict[str, Any] = dict.fromkeys(item.keywords, 1)
    for when, ended, longrepr in [*phases, ("teardown", "passed", None)]:
        made = pytest.TestReport(item.nodeid, location, keywords, ended, longrepr, when,
                                 duration=result.elapsed_s if when == "call" else 0.0)
        if when == "call" and outcome is Outcome.ACCEPTED and result.acceptance is not None:
            made.wasxfail = f"known issue, {result.acceptance.note()}"
        hook.pytest_runtest_logreport(report=made)
    hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=location)


class Locations:
    """item.location, the file and line found once per check function (pytest looks them up per item)."""

    def __init__(self) -> None:
        self._found: dict[Any, tuple[str, int | None]] = {}

    def __call__(self, item: pytest.Item) -> tuple[str, int | None, str]:
        fn = getattr(item, "obj", None)
        found = self._found.get(fn)
        if found is None or not isinstance(item, pytest.Function) or item.cls is not None:
            location = item.location
            self._found[fn] = location[:2]
            return location
        return (found[0], found[1], item.name)
