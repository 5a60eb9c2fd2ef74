"""The run model: what a run found, typed, and the one place that decides outcomes and the exit status.

The engine produces a `Verdict` per check (how its function ended). `outcome()` turns a verdict into the
check's `Outcome`, with the target's context (known issues, --strict-advisories, an interrupt);
`exit_status()` turns a `RunResult` into the run's `ExitCode`. Nothing else decides either: every output
(terminal, JUnit, JSON, Markdown, HTML, step summary, history, merge) reads them from the RunResult.

All text in a RunResult is redacted when the result is formed (`check_result`, `evidence_table`), so no
output needs to redact again.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any, Literal

from .errors import AwsError, CouldNotJudge, NotApplicable
from .redact import redact, redact_deep

if TYPE_CHECKING:
    from .exchange import Exchange
    from .history.known import KnownIssues

SCHEMA = 3


class Outcome(str, Enum):
    """How one check ended, as every output shows it."""

    PASSED = "passed"
    FAILED = "failed"
    COULD_NOT_JUDGE = "could_not_judge"  # no whole answer, the release gate, the run's deadline, a bug
    ACCEPTED = "accepted"  # failed, and a known issue accepts it until a date
    ADVISORY = "advisory"  # an advisory rule's finding (fails only with --strict-advisories)
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"  # still running or retrying when the run was interrupted

    @property
    def bad(self) -> bool:
        """This outcome fails the run (under --fail-on any)."""
        return self in BAD

    @property
    def label(self) -> str:
        return LABELS[self]


BAD = frozenset({Outcome.FAILED, Outcome.COULD_NOT_JUDGE, Outcome.INTERRUPTED})
OUTCOMES = tuple(Outcome)
LABELS = {Outcome.PASSED: "passed", Outcome.FAILED: "FAILED", Outcome.COULD_NOT_JUDGE: "could not judge",
          Outcome.ACCEPTED: "accepted (known issue)", Outcome.ADVISORY: "advisory", Outcome.SKIPPED: "skipped",
          Outcome.INTERRUPTED: "interrupted"}


class ExitCode(IntEnum):
    """The exit status of `edgeverify run` and of pytest with --target."""

    OK = 0  # every check passed (advisories, skips and accepted known issues do not fail)
    FAILED = 1  # a check failed or could not be judged
    INTERRUPTED = 2  # Ctrl-C or SIGTERM: the reports are still written
    USAGE = 4  # bad input: target file, option, known-issues file, a selection matching nothing

    @property
    def verdict(self) -> str:
        """One word for the whole run: passed, failed, interrupted, or bad input."""
        return {ExitCode.OK: "passed", ExitCode.FAILED: "failed", ExitCode.INTERRUPTED: "interrupted"}.get(
            self, "bad input")


# -- what the engine hands over ----------------------------------------------------------------------

Ending = Literal["passed", "violation", "could_not_judge", "skipped", "interrupted", "error"]


@dataclass(slots=True)
class Verdict:
    """How one check's function ended in its last attempt (the engine's output, before any policy)."""

    ending: Ending
    exception: BaseException | None = None
    attempts: int = 0
    elapsed_s: float = 0.0
    converged_after_s: float | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    sent_unsafe: bool = False  # never retried: the unsafe request goes out once per run
    data: dict[str, Any] = field(default_factory=dict)  # blocks a check attaches for the reports (edges)

    @property
    def retryable(self) -> bool:
        from .rules import Violation

        if self.ending == "could_not_judge":
            return True
        return self.ending == "violation" and not (isinstance(self.exception, Violation)
                                                   and (self.exception.advisory or self.exception.final))


def ending_of(exc: BaseException | None) -> Ending:
    """Classify how a check's function ended."""
    from .rules import Violation

    if exc is None:
        return "passed"
    if isinstance(exc, Violation):
        return "violation"
    if isinstance(exc, (CouldNotJudge, AwsError)):  # no answer to judge, or AWS would not give one
        return "could_not_judge"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, NotApplicable):
        return "skipped"
    outcomes = sys.modules.get("_pytest.outcomes")  # pytest.skip() in a check or a fixture (pytest is loaded)
    if outcomes is not None and isinstance(exc, outcomes.Skipped):
        return "skipped"
    return "error"


# -- the typed result -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's violation as a person reads it, diagnosed once with the target's context."""

    expected: str
    actual: str
    cause: str | None
    reproduce: str | None
    confirm: tuple[str, ...] = ()  # the config-suite rules that read the setting the cause names
    # what those rules found in this same run: (rule, verdict) with verdict one of CROSS_CHECK (cross_check())
    config: tuple[tuple[str, str], ...] = ()
    exchange: str = ""  # the reference (into RunResult.exchanges) of the answer the finding is about
    root: str = ""  # the rule that reports this answer's fault as its own finding, when this one is its consequence

    def cross_check(self) -> str | None:
        """The config suite's word on this cause in the same run, as a line every output shows."""
        if not self.config:
            return None
        found = [r for r, v in self.config if v == "found"]
        clear = [r for r, v in self.config if v == "clear"]
        open_ = [f"{r} {v}" for r, v in self.config if v not in ("found", "clear")]
        parts = ([f"{', '.join(found)} found the same in the distribution's configuration: cause confirmed"]
                 if found else [])
        parts += ([f"{', '.join(clear)} passed: the configuration does not show this cause, so look first at what "
                   f"it does not read (an origin's own answer, a Lambda@Edge/CloudFront Function, WAF)"]
                  if clear and not found else [])
        parts += [f"{', '.join(open_)}"] if open_ and not found else []
        return "; ".join(parts) or None


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The known issue that covers a failing check."""

    reason: str
    owner: str
    expires: str  # ISO date: accepted through this day (UTC)
    expired: bool
    source: str = ""

    def note(self) -> str:
        if self.expired:
            return f"accepted until {self.expires}, expired ({self.reason}; owner {self.owner})"
        return f"accepted until {self.expires}: {self.reason} (owner {self.owner})"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of one run."""

    id: str
    outcome: Outcome
    rule: str | None = None
    suite: str | None = None
    summary: str | None = None
    severity: str | None = None
    nodeid: str = ""
    message: str | None = None  # the finding rendered, why it could not be judged, or why it was skipped
    finding: Finding | None = None
    acceptance: Acceptance | None = None
    attempts: int = 0
    elapsed_s: float = 0.0
    converged_after_s: float | None = None
    pops: tuple[str, ...] = ()
    exchanges: tuple[str, ...] = ()  # references into RunResult.exchanges
    properties: tuple[tuple[str, str], ...] = ()  # facts a check records beside its outcome ("checked": "13 of 13")
    key: str = ""  # rule[subject], as known issues name it (CheckInfo.key)
    consequence_of: str = ""  # the id of the check holding the root finding this failure follows from (link_roots)
    har: Mapping[str, Any] | None = None  # a browser check's failing requests, a HAR 1.2 excerpt (har.py); not passed

    @property
    def subject(self) -> str:
        """What the check is about beyond its rule (the part of its key in brackets)."""
        return self.key[len(self.rule) + 1:-1] if self.rule and self.key.startswith(f"{self.rule}[") else ""


@dataclass(frozen=True, slots=True)
class Release:
    marker: str | None = None
    gate: Literal["none", "passed", "failed"] = "none"
    served_after_s: float | None = None
    seen_at: float | None = None  # epoch seconds: when the request that first found the release was sent
    reason: str | None = None
    entry: Mapping[str, Any] | None = None  # the entry document the checks judged (skew.seen_entry), bounded


@dataclass(frozen=True, slots=True)
class Network:
    requests: int
    distinct: int
    connections: int
    phase_s: float | None


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run against one target: every check's outcome and the evidence behind it."""

    domain: str
    target: str  # the target file
    target_name: str
    tool: str
    started_at: float  # epoch seconds
    finished_at: float
    checks: tuple[CheckResult, ...]
    exchanges: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # ref -> recorded exchange
    tls_verification: bool = True
    release: Release = Release()
    network: Network | None = None
    interrupted: str | None = None  # why the run was interrupted (a signal), when it was
    note: str | None = None  # why the run ended early otherwise (the run's deadline)
    fail_on: Literal["any", "new"] = "any"
    history: Mapping[str, Any] | None = None  # the regression view (history/view.py)
    history_error: str | None = None
    edges: Mapping[str, Any] | None = None  # the edges block (edges/verify.py)
    latency: Mapping[str, Any] | None = None  # timings per edge and kind of request (latency.py)
    security: Mapping[str, Any] | None = None  # the Observatory grade block (observatory.Grade.to_dict)
    # the target's template audit (its `template` key): each finding's predicted check and what this run found
    predictions: tuple[Mapping[str, str], ...] = ()
    selected: int | None = None  # checks selected (None: as many as there are results)
    warnings: tuple[str, ...] = ()  # said in every output, failing nothing (a known issue that matched no check)

    @property
    def exit_status(self) -> ExitCode:
        return exit_status(self)

    def counts(self, checks: Iterable[CheckResult] | None = None) -> dict[str, int]:
        found = dict.fromkeys((o.value for o in OUTCOMES), 0)
        for c in self.checks if checks is None else checks:
            found[c.outcome.value] += 1
        return found

    def suites(self) -> dict[str, dict[str, int]]:
        by: dict[str, list[CheckResult]] = {}
        for c in self.checks:
            by.setdefault(c.suite or "other", []).append(c)
        return {name: self.counts(group) for name, group in sorted(by.items())}

    def bad(self) -> list[CheckResult]:
        """The checks that fail the run (or would, under --fail-on any), failures first."""
        order = {Outcome.FAILED: 0, Outcome.COULD_NOT_JUDGE: 1, Outcome.INTERRUPTED: 2}
        return sorted((c for c in self.checks if c.outcome.bad), key=lambda c: order[c.outcome])


# -- the one place that decides ----------------------------------------------------------------------

def outcome(verdict: Verdict, *, advisory: bool, strict_advisories: bool,
            acceptance: Acceptance | None) -> Outcome:
    """A check's outcome from how it ended and the run's policy: the only function that decides one."""
    ending = verdict.ending
    if ending == "interrupted":
        return Outcome.INTERRUPTED
    if ending == "skipped":
        return Outcome.SKIPPED
    if ending == "passed":
        return Outcome.PASSED
    if ending in ("could_not_judge", "error"):  # missing evidence is never accepted as a known failure
        return Outcome.COULD_NOT_JUDGE
    if advisory and not strict_advisories:
        return Outcome.ADVISORY
    if acceptance is not None and not acceptance.expired:
        return Outcome.ACCEPTED
    return Outcome.FAILED


def exit_status(run: RunResult) -> ExitCode:
    """The run's exit status: the only function that decides it."""
    if run.interrupted:
        return ExitCode.INTERRUPTED
    bad = [c for c in run.checks if c.outcome.bad]
    if run.fail_on == "new" and run.history is not None and not run.history.get("first_run"):
        new = set(run.history.get("new_since_last") or ())
        bad = [c for c in bad if c.id in new or (c.acceptance is not None and c.acceptance.expired)]
    return ExitCode.FAILED if bad else ExitCode.OK


def fleet_exit_status(codes: Iterable[int]) -> ExitCode:
    """Many targets' exit statuses as one: interrupted before bad input before failed before passed."""
    codes = {ExitCode(c) for c in codes}
    for code in (ExitCode.INTERRUPTED, ExitCode.USAGE, ExitCode.FAILED):
        if code in codes:
            return code
    return ExitCode.OK


# -- forming results -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CheckInfo:
    """What the collector knows of a check before it runs."""

    id: str
    rule: str | None = None
    suite: str | None = None
    summary: str | None = None
    severity: str | None = None
    nodeid: str = ""
    subject: str = ""  # what the check is about beyond its rule: a path, a call, a method ("" for the site)

    @property
    def key(self) -> str:
        """The rule id with the check's subject, as reports show it and known issues name it: https.hsts[/]."""
        return f"{self.rule}[{self.subject}]" if self.subject else str(self.rule or self.id)


def acceptance_for(info: CheckInfo, known: KnownIssues | None, today: dt.date) -> Acceptance | None:
    if known is None or info.rule is None:
        return None
    issue = known.match({"id": info.id, "rule": info.rule, "key": info.key, "subject": info.subject})
    if issue is None:
        return None
    return Acceptance(redact(issue.reason), redact(issue.owner), issue.expires.isoformat(), issue.expired(today),
                      f"{known.source}:{issue.line}" if issue.line else known.source)


def check_result(info: CheckInfo, verdict: Verdict, refs: tuple[str, ...], *, api_prefix: str = "/api/",
                 strict_advisories: bool = False, known: KnownIssues | None = None,
                 today: dt.date | None = None) -> CheckResult:
    """Form a check's result: diagnose its finding once with the target's context, decide its outcome, redact."""
    from .rules import Violation

    exc = verdict.exception
    violation = exc if isinstance(exc, Violation) else None
    finding = None
    rule = info.rule
    if violation is not None:
        violation.context(api_prefix)
        rule = violation.rule.id
        at = next((i for i, ex in enumerate(verdict.exchanges) if ex is violation.exchange), None)
        finding = Finding(redact(violation.expected), redact(violation.actual),
                          redact(violation.likely) if violation.likely else None,
                          redact(violation.reproduce) if violation.reproduce else None, confirm=violation.confirm,
                          exchange=refs[at] if at is not None and at < len(refs) else "", root=violation.root)
    acceptance = acceptance_for(info, known, today or dt.datetime.now(dt.timezone.utc).date()) \
        if verdict.ending == "violation" else None
    advisory = violation.advisory if violation is not None else info.severity == "advisory"  # a rule may soften
    result = outcome(verdict, advisory=advisory, strict_advisories=strict_advisories,
                     acceptance=acceptance)
    pops = sorted({p for p in (ex.header("x-amz-cf-pop") for ex in verdict.exchanges) if p})
    return CheckResult(
        id=info.id, outcome=result, rule=rule, suite=info.suite, summary=info.summary, severity=info.severity,
        nodeid=redact(info.nodeid), message=_message(verdict, result), finding=finding, acceptance=acceptance,
        attempts=verdict.attempts, elapsed_s=round(verdict.elapsed_s, 3),
        converged_after_s=None if verdict.converged_after_s is None else round(verdict.converged_after_s, 3),
        pops=tuple(pops), exchanges=refs, key=redact(info.key),
        properties=tuple((redact(str(k)), redact(str(v))) for k, v in verdict.data.get("properties", ())),
        har=_har(verdict, result))


def _har(verdict: Verdict, result: Outcome) -> Mapping[str, Any] | None:
    """The failing requests' HAR excerpt a browser check attached, kept where the check did not pass (redacted)."""
    found = verdict.data.get("har")
    if not isinstance(found, dict) or result in (Outcome.PASSED, Outcome.SKIPPED):
        return None
    data = redact_deep(found)
    return data if isinstance(data, dict) else None


# How a config-suite rule's outcome in the same run bears on a cause it reads the setting of.
CROSS_CHECK = {Outcome.FAILED: "found", Outcome.ADVISORY: "found", Outcome.ACCEPTED: "found",
               Outcome.PASSED: "clear", Outcome.SKIPPED: "not applicable", Outcome.COULD_NOT_JUDGE: "not judged",
               Outcome.INTERRUPTED: "not judged"}


def cross_check(run: RunResult) -> RunResult:
    """Each failing finding's diagnosis checked against the config suite's rules of the same run: a config rule
    that failed too confirms the cause; one that passed rules it out. Said on the finding and in its message,
    so every output shows it. Without config checks in the run the findings are unchanged (the diagnosis
    still names the rules to run)."""
    from dataclasses import replace

    by_rule: dict[str, list[Outcome]] = {}
    for c in run.checks:
        if c.suite == "config" and c.rule:
            by_rule.setdefault(c.rule, []).append(c.outcome)
    if not by_rule:
        return run
    checks = []
    for c in run.checks:
        f = c.finding
        if f is None or not f.confirm or c.suite == "config":
            checks.append(c)
            continue
        config = tuple((rule, _cross(by_rule.get(rule))) for rule in f.confirm)
        finding = replace(f, config=config)
        line = finding.cross_check()
        message = c.message if not line or not c.message else f"{c.message}\n  Config:   {redact(line)}"
        checks.append(replace(c, finding=finding, message=message))
    return replace(run, checks=tuple(checks))


def link_roots(run: RunResult) -> RunResult:
    """One fault, one cause: a failure that follows from another check's finding on the same answer points at it
    (consequence_of), so every output names the root once and lists the rest under it. Two kinds:
    - a diagnosis naming another rule's finding as the fault (the SPA shell served for a missing chunk is
      static.media_type's; cache and validator checks failing on that answer follow from it);
    - checks that failed with one shared root rule on one file (method, URL and edge address alike), e.g.
      static.body_intact, which every check reading a body that does not decode fails with: the check whose own
      rule it is holds it, else the first.
    Outcomes are unchanged (a consequence still fails): this only says which finding to fix first."""
    from dataclasses import replace

    found = [c for c in run.checks if c.finding is not None and c.finding.exchange and c.outcome is not Outcome.PASSED]
    by_answer: dict[tuple[str, str], list[CheckResult]] = {}
    for c in found:
        assert c.finding is not None and c.rule is not None
        by_answer.setdefault((c.rule, _answer(run, c.finding.exchange)), []).append(c)
    links: dict[str, str] = {}
    for c in found:
        assert c.finding is not None
        if c.finding.root:
            holders = by_answer.get((c.finding.root, _answer(run, c.finding.exchange)), [])
            root = next((h for h in holders if h.key.split("[")[0] == c.finding.root), holders[0] if holders else None)
            if root is not None and root.id != c.id:
                links[c.id] = root.id
    for group in by_answer.values():
        rule = group[0].rule
        if len(group) > 1 and any(c.key.split("[")[0] != rule for c in group):  # raised from others' checks
            root = next((c for c in group if c.key.split("[")[0] == rule), group[0])
            links.update({c.id: root.id for c in group if c.id != root.id and c.id not in links})
    if not links:
        return run
    by_id = {c.id: c for c in run.checks}
    followers: dict[str, list[CheckResult]] = {}
    for cid, root_id in links.items():
        followers.setdefault(root_id, []).append(by_id[cid])
    checks = []
    for c in run.checks:
        if c.id in links:
            root = by_id[links[c.id]]
            line = (f"  Follows:  from the {root.rule} finding of {root.id} on the same file: fix that first; "
                    "this check fails only because of it")
            c = replace(c, consequence_of=root.id, message=f"{c.message}\n{line}" if c.message else line.strip())
        elif c.id in followers:
            names = ", ".join(f.key or f.id for f in followers[c.id])
            line = f"  Root of:  {len(followers[c.id])} other failing check(s) on the same file: {names}"
            c = replace(c, message=f"{c.message}\n{line}" if c.message else line.strip())
        checks.append(c)
    return replace(run, checks=tuple(checks))


def _answer(run: RunResult, ref: str) -> str:
    """The file an answer is of: method, URL and edge address (a conditional or repeated GET of it is the same
    file; a check reading it gets the same fault)."""
    ex = run.exchanges.get(ref) or {}
    request = ex.get("request") or {}
    return f"{request.get('method')} {request.get('url')} @{ex.get('address')}" if request else ref


def _cross(outcomes: list[Outcome] | None) -> str:
    if not outcomes:
        return "not run"
    verdicts = [CROSS_CHECK[o] for o in outcomes]
    return next((v for v in ("found", "not judged", "clear") if v in verdicts), verdicts[0])


def _message(verdict: Verdict, result: Outcome) -> str | None:
    from .rules import Violation

    exc = verdict.exception
    if isinstance(exc, Violation):
        text = exc.render()
        if result is Outcome.INTERRUPTED:
            text = "interrupted while retrying; the last answer:\n" + text
        return redact(text)
    if exc is None:
        return "interrupted: the run was interrupted before this check ended" if result is Outcome.INTERRUPTED \
            else None
    if result is Outcome.SKIPPED:
        return redact(str(getattr(exc, "msg", None) or exc))
    if result is Outcome.INTERRUPTED:
        return redact(f"interrupted: {exc}" if str(exc) else "interrupted: the run was interrupted")
    if isinstance(exc, (CouldNotJudge, AwsError)):
        text = str(exc)
        return redact(text if text.startswith("could not judge") else f"could not judge: {text}")
    return redact(f"could not judge: the check itself failed ({type(exc).__name__}: {exc})")


def evidence_table(checks: Iterable[CheckResult], verdicts: Mapping[str, Verdict],
                   refs: Mapping[int, str]) -> dict[str, Mapping[str, Any]]:
    """Each exchange judged once, by reference: in full (body excerpt, curl line) where a check that did not
    pass judged it, lean (request, status, headers) elsewhere. Decided here only."""
    table: dict[str, Mapping[str, Any]] = {}
    full_refs = {ref for c in checks if c.outcome not in (Outcome.PASSED, Outcome.SKIPPED) for ref in c.exchanges}
    for verdict in verdicts.values():
        for ex in verdict.exchanges:
            ref = refs[id(ex)]
            if ref not in table or (ref in full_refs and table[ref].get("curl") is None):
                data = redact_deep(ex.to_dict(ref in full_refs))
                assert isinstance(data, dict)
                table[ref] = data
    return table
