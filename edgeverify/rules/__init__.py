"""Rules: what a correct edge answers, as pure functions over recorded exchanges.

A rule is registered once with its id, suite, severity, one-line statement, the paragraph a report
shows (why it matters, what to change) and its source. A check function judges exchanges and
raises `Violation`; it never does I/O and never imports pytest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..diagnose import cause_for
from ..exchange import Exchange
from ..redact import redact

Severity = Literal["fail", "advisory"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    suite: str
    summary: str  # one line: what a correct edge does
    why: str  # why it matters and what to change
    source: str
    severity: Severity = "fail"
    threshold: str = ""  # the default, in words; targets may override


RULES: dict[str, Rule] = {}


def rule(id: str, summary: str, why: str, source: str, severity: Severity = "fail", threshold: str = "") -> Rule:
    """Register a rule; its suite is the id's first part."""
    registered = Rule(id, id.split(".")[0], summary, why, source, severity, threshold)
    if id in RULES and RULES[id] != registered:  # the same module imported again (pytester) registers the same rule
        raise ValueError(f"rule {id} registered twice")
    RULES[id] = registered
    return registered


@dataclass(slots=True)
class Attempts:
    """How long a check was retried before its last answer."""

    count: int
    elapsed_s: float
    deadline_s: float


class Violation(AssertionError):
    """A rule's expectation was not met: the product's main output.

    `final`: a fault no propagation can heal (a body that does not decode as labelled, a broken certificate
    chain): the check is not retried to the propagation deadline.
    """

    final = False

    def __init__(self, rule: Rule, expected: str, actual: str, exchange: Exchange | None = None,
                 cause: str | None = None, extra: list[Exchange] | None = None, reproduce: str | None = None,
                 diagnose: bool = True) -> None:
        self.rule = rule
        self.expected = expected
        self.actual = actual
        self.exchange = exchange
        self.extra = extra or []
        # A known CloudFront/S3/API Gateway signature outranks the rule's own guess, unless the rule
        # provoked that error on purpose (diagnose=False). It is looked up once, when first shown, with the
        # target's API prefix (context(); rules are pure and do not know the target).
        self._diagnose = diagnose
        self._api_prefix = "/api/"
        self._signature: str | None = None
        self._confirm: tuple[str, ...] = ()
        self._root = ""
        self._diagnosed = False
        self.cause = cause
        self.reproduce = reproduce or (exchange.curl() if exchange is not None else None)
        self.attempts: Attempts | None = None
        super().__init__(f"{rule.id}: expected {expected}; actual {actual}")

    @property
    def advisory(self) -> bool:
        return self.rule.severity == "advisory"

    def context(self, api_prefix: str) -> None:
        """The target's API prefix, for the diagnosis (before it is first shown)."""
        if not self._diagnosed:
            self._api_prefix = api_prefix

    @property
    def signature(self) -> str | None:
        """The recognised error signature's cause, diagnosed once."""
        if not self._diagnosed:
            self._diagnosed = True
            if self.exchange is not None and self._diagnose:
                # an AWS error no signature knows is described only when the rule has no cause of its own
                self._signature, self._confirm, self._root = cause_for(
                    self.rule.id, self.exchange, self._api_prefix, describe_unknown=self.cause is None)
        return self._signature

    @property
    def confirm(self) -> tuple[str, ...]:
        """The config-suite rules that read the setting the recognised signature names (to cross-check)."""
        return self._confirm if self.signature is not None else ()

    @property
    def root(self) -> str:
        """The rule that reports this answer's fault as its own finding, when this one is its consequence."""
        return self._root if self.signature is not None else ""

    @property
    def likely(self) -> str | None:
        """The likely cause shown: a recognised signature before the rule's own guess."""
        return self.signature or self.cause

    def render(self) -> str:
        """The failure as a person reads it in a CI log: no traceback, everything needed to act."""
        r = self.rule
        lines = [f"{'ADVISORY' if self.advisory else 'FAILED'} [{r.id}] {r.summary}",
                 f"  Expected: {self.expected}",
                 f"  Actual:   {self.actual}"]
        for ex in ([self.exchange] if self.exchange else []) + self.extra:
            lines.append(f"  Exchange: {ex.summary()}")
            if ex.body and (ex.status is None or ex.status >= 300 or ex.content_type.startswith("text/html")):
                lines.append(f"  Body:     {ex.body_excerpt()}")
        cause = self.likely
        if cause:
            lines.append(f"  Likely cause: {cause}")
        lines.append(f"  Why it matters: {r.why}")
        if self.attempts and self.attempts.count > 1:
            lines.append(f"  Attempts: {self.attempts.count} over {self.attempts.elapsed_s:.1f} s "
                         f"(propagation deadline {self.attempts.deadline_s:g} s); the last answer is shown")
        if self.reproduce:
            lines.append(f"  Reproduce: {self.reproduce}")
        return redact("\n".join(lines))


LISTED = 10  # problems listed in one failure; the rest are counted


def raise_collected(rule: Rule, expected: str, problems: Sequence[tuple[Exchange | None, str] | tuple[Exchange | None, str, str]],
                    total: int | None = None, what: str = "", cause: str | None = None, diagnose: bool = True) -> None:
    """Raise one Violation for all a check found wrong: each problem listed (capped), the first one reproduced.

    A problem is (exchange, what is wrong) or (exchange, what is wrong, its likely cause); `cause`
    replaces the per-problem causes.
    """
    if not problems:
        return
    lines = [p[1] for p in problems[:LISTED]]
    if len(problems) > LISTED:
        lines.append(f"... and {len(problems) - LISTED} more")
    head = f"{len(problems)} of {total} {what}" if total is not None else ""
    if len(lines) == 1:
        actual = f"{head}: {lines[0]}" if head else lines[0]
    else:
        actual = (head or f"{len(problems)} problems") + ":" + "".join(f"\n            - {line}" for line in lines)
    causes = [cause] if cause else list(dict.fromkeys(p[2] for p in problems if len(p) > 2 and p[2]))
    raise Violation(rule, expected, actual, problems[0][0], "; also: ".join(causes[:3]) or None, diagnose=diagnose)


def expect(condition: bool, rule: Rule, expected: str, actual: str, exchange: Exchange | None = None,
           cause: str | None = None, reproduce: str | None = None, diagnose: bool = True) -> None:
    """Raise a Violation of `rule` unless `condition` holds."""
    if not condition:
        raise Violation(rule, expected, actual, exchange, cause, reproduce=reproduce, diagnose=diagnose)


def responded(rule: Rule, ex: Exchange, expected: str) -> None:
    """A rule cannot judge a response that never came: say so as that rule's violation."""
    if ex.status is None:
        raise Violation(rule, expected, f"no response: {ex.error}", ex)


SUITE_MODULES = ("https", "propagation", "static", "api", "cache", "cors", "spa", "config", "origin_config", "edges",
                 "security", "origin_direct", "browser", "latency", "ipv6", "http3")


def load_all() -> None:
    """Import every rule module, so RULES lists them all (for `edgeverify rules` and the README)."""
    import importlib

    for name in SUITE_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
