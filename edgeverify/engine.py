"""Runs checks: the release gate, then rounds of checks sharing one set of answers, retried until the deadline.

A check is a plain function called with an `Attempt` (its evidence) as `edge`. All checks of a
round run concurrently, so their requests go out together over the run's bounded connections, each
distinct request once. Failing checks are re-run in later rounds (fresh answers) until the
propagation deadline, except those that sent an unsafe request; the run's own deadline
(timeouts.run) ends whatever is still running as "could not judge", and an interrupt (Ctrl-C,
SIGTERM) ends whatever is still running or retrying as "interrupted".

The engine hands back how each check ended (`model.Verdict`); `model` decides outcomes and the exit
status, and `Engine.result` forms the run's typed `RunResult`.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import CouldNotJudge
from .evidence import Attempt, Request, Run
from .exchange import Exchange
from .model import (CheckInfo, CheckResult, Ending, Network, Release, RunResult, Verdict, check_result, cross_check,
                    ending_of, link_roots)
from .redact import redact
from .retry import until_deadline
from .rules import Attempts, Violation
from .discovery import referenced_assets
from .rules.propagation import check_release_marker
from .rules.static import check_served
from .skew import seen_entry
from .target import Target

if TYPE_CHECKING:
    from .history.known import KnownIssues

MAX_CHECK_THREADS = 64


@dataclass(slots=True)
class Check:
    """One check to run: what it is, its function and the arguments it takes besides `edge`."""

    info: CheckInfo
    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    gated: bool = True  # waits for the release gate
    retry: bool = True  # retried until the propagation deadline while failing

    @property
    def id(self) -> str:
        return self.info.id


@dataclass(frozen=True, slots=True)
class Policy:
    """How this run turns verdicts into outcomes and an exit status (see model.outcome, model.exit_status)."""

    strict_advisories: bool = False
    known: KnownIssues | None = None
    fail_on: Literal["any", "new"] = "any"
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).date())


@dataclass(slots=True)
class Gate:
    """The release gate's outcome: when the marker was first served, or why it never was."""

    passed: bool
    waited_s: float | None = None
    violation: Violation | CouldNotJudge | None = None
    tries: int = 0
    seen_at: float | None = None  # epoch seconds when the request that first found the release was sent

    def reason(self) -> str:
        if self.violation is None:
            return ""
        return self.violation.render() if isinstance(self.violation, Violation) else str(self.violation)


def entry_path(target: Target) -> str:
    return target.static.pages[0] if target.static.pages else "/"


def entry_request(target: Target) -> Request:
    """The entry document's GET, as every check that reads it asks for it (so it is shared)."""
    return Request.make("GET", entry_path(target))


class Engine:
    """Runs the checks of one target in this process, and forms the run's result."""

    def __init__(self, run: Run, deadline: float, run_deadline: float, policy: Policy | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.run = run
        self.target = run.target
        self.deadline = deadline  # propagation: failing checks are retried until then
        self.run_deadline = run_deadline  # nothing runs past this
        run.deadlines = (deadline, run_deadline)
        self.policy = policy or Policy()
        self.progress = progress or (lambda message: None)
        self.stop = threading.Event()
        self.gate: Gate | None = None
        self.verdicts: dict[str, Verdict] = {}
        self.interrupted: str | None = None  # why, once interrupted
        self.deadline_hit = False  # the run's deadline ended checks still running
        self.halted: str | None = None  # why nothing more is judged (the deploy never finished, the deadline)
        self._open: dict[str, Check] = {}  # checks started, or waiting, whose verdict is not final
        self._results: dict[str, CheckResult] = {}
        self._refs: dict[int, str] = {}
        self._ref_numbers = count(1)
        self._lock = threading.Lock()  # the release gate, evidence references
        self._verdicts_lock = threading.Lock()  # a round's verdicts against an interrupt from another thread
        self.started_at = time.time()
        self.phase_s: float | None = None  # how long the batch of checks took, gate included (for reports)
        self.final: RunResult | None = None  # the result, once settled (settle)

    # -- the release gate ------------------------------------------------------------------------
    def release_gate(self) -> Gate:
        """Poll the entry document at `interval` until it carries the release marker and the assets it references
        are served (once per run). At the deadline a served marker passes the gate even with assets missing: the
        checks then judge them (static.served)."""
        with self._lock:
            if self.gate is not None:
                return self.gate
            marker = self.target.propagation.release_marker
            if not marker:
                self.gate = Gate(True)
                return self.gate
            start = time.monotonic()
            request = entry_request(self.target)
            self.progress(f"waiting for release {marker} in {self.target.url(request.path)} "
                          f"(every {self.target.propagation.interval:g} s, up to "
                          f"{max(0.0, min(self.deadline, self.run_deadline) - start):.0f} s)")
            answered: list[Violation | CouldNotJudge] = []
            released: list[Exchange] = []  # real answers that carried the marker
            last_released = [False]  # whether the last real answer carried it (its assets may not all be served)

            def poll() -> tuple[Exchange, Violation | CouldNotJudge | None]:
                ex = self.run.transport.request("GET", request.path)
                problem: Violation | CouldNotJudge | None = None
                if not ex.complete:
                    problem = CouldNotJudge(f"the release gate had no answer: GET {ex.path} -> {ex.status_line}", ex)
                    if ex.error_phase != "deadline":
                        last_released[0] = False
                    if ex.error_phase == "tls":  # a certificate fault waiting cannot heal ends the polling
                        problem = _final_tls_fault(self.run.transport) or problem
                else:
                    try:
                        check_release_marker(ex, marker)
                        released.append(ex)
                        last_released[0] = True
                        self._assets_served(ex)
                    except Violation as v:
                        v.context(self.target.api.prefix)
                        problem = v
                        last_released[0] = released[-1:] == [ex]
                if problem is not None and ex.error_phase != "deadline":
                    answered.append(problem)
                return ex, problem

            (ex, problem), tries = until_deadline(poll, self.target.propagation, min(self.deadline, self.run_deadline),
                                                  again=lambda result: (result[1] is not None
                                                                        and not getattr(result[1], "final", False)),
                                                  fixed=True,
                                                  stop_event=self.stop)
            if problem is not None and ex.error_phase == "deadline" and answered:
                problem = answered[-1]  # the last real answer says more than "the deadline came"
            if problem is not None and last_released[0]:
                # the last real answer carried the marker: the release is served, static.served judges its assets
                missing = problem.actual.splitlines()[0] if isinstance(problem, Violation) else str(problem)
                self.progress(f"release {marker} served, but not all its assets by the deadline: {missing}")
                problem, ex = None, released[-1]
            if problem is None:
                self.run.seed(request, ex)  # the checks judge the very document the gate saw
                self.gate = Gate(True, time.monotonic() - start, tries=tries, seen_at=ex.started_at)
            else:
                self.gate = Gate(False, None, problem, tries)
            return self.gate

    def _assets_served(self, entry: Exchange) -> None:
        """Violation (static.served) unless every asset the new entry document references answers HEAD 200: a
        deploy that uploads index.html before its chunks is not released yet."""
        assets = referenced_assets(entry.text, self.target.domain, entry.path)
        check_served([self.run.transport.request("HEAD", path) for path in assets], "assets of the new entry document")

    # -- checks ----------------------------------------------------------------------------------
    def run_checks(self, checks: list[Check]) -> dict[str, Verdict]:
        """Run checks to their final verdicts (kept in self.verdicts). An interrupt (KeyboardInterrupt, which
        the signal handlers raise) ends every check not yet final as interrupted, and is not re-raised."""
        pending = [c for c in checks if c.id not in self.verdicts and c.id not in self._open]
        for c in pending:
            self._open[c.id] = c
        if self.interrupted or self.halted:  # stopped before these began: they end as the others did
            self.interrupt(self.interrupted or self.halted or "", deadline=self.interrupted is None)
            return self.verdicts
        try:
            self._run(pending)
        except KeyboardInterrupt as exc:
            self.interrupt(str(exc) or "interrupted")
        return self.verdicts

    def _run(self, pending: list[Check]) -> None:
        if any(c.gated for c in pending):
            gate = self.release_gate()
            if not gate.passed:
                reason = ("could not judge: the release gate failed, so this check never ran against the new "
                          "release.\n" + gate.reason())
                for c in pending:
                    if c.gated:
                        self._final(c, Verdict("could_not_judge", CouldNotJudge(reason)))
                pending = [c for c in pending if not c.gated]
        start = time.monotonic()
        attempts: dict[str, int] = {}
        pending_now = list(pending)

        def one_round() -> list[Check]:
            for c in pending_now:
                attempts[c.id] = attempts.get(c.id, 0) + 1
            results = self._round(pending_now, start)
            retry: list[Check] = []
            with self._verdicts_lock:
                if self.interrupted or self.halted:  # stopped from another thread: interrupt() has said how
                    pending_now.clear()
                    return retry
                self._store(pending_now, results, attempts, retry)
            pending_now[:] = retry
            return retry

        def on_retry(tries: int, failing: list[Check], sleep: float) -> None:
            self.run.new_round()
            self.progress(f"{len(failing)} check(s) failing after try {tries}; trying again in {sleep:.1f} s "
                          f"({max(0.0, self.deadline - time.monotonic()):.0f} s to the propagation deadline)")

        if pending_now:
            until_deadline(one_round, self.target.propagation, min(self.deadline, self.run_deadline), again=bool,
                           stop_event=self.stop, on_retry=on_retry)
        for c in pending_now:  # the deadline came while they were failing: their last verdict is final
            self._open.pop(c.id, None)

    def _store(self, checks: list[Check], results: dict[str, Verdict], attempts: dict[str, int],
               retry: list[Check]) -> None:
        """A round's verdicts; the checks to try again go to `retry`."""
        for c in checks:
            verdict = results[c.id]
            previous = self.verdicts.get(c.id)
            if previous is not None and _cut_by_deadline(verdict):  # keep the last real answer
                verdict = previous
            verdict.attempts = attempts[c.id]
            if verdict.ending == "passed" and verdict.attempts > 1:
                verdict.converged_after_s = verdict.elapsed_s
            if isinstance(verdict.exception, Violation):
                verdict.exception.attempts = Attempts(verdict.attempts, verdict.elapsed_s,
                                                      self.target.propagation.timeout)
            self.verdicts[c.id] = verdict
            if c.retry and verdict.retryable and not verdict.sent_unsafe:
                retry.append(c)
            else:
                self._open.pop(c.id, None)

    def halt(self, reason: str) -> None:
        """The run's deadline passed: nothing more is judged; checks still running end unjudged, saying why."""
        self.deadline_hit = True
        self.halted = reason

    def _final(self, check: Check, verdict: Verdict) -> None:
        self.record(check.id, verdict)

    def record(self, check_id: str, verdict: Verdict) -> None:
        """A check's final verdict, reached outside the engine's rounds (a fixture that skipped or failed)."""
        self.verdicts[check_id] = verdict
        self._open.pop(check_id, None)

    def interrupt(self, reason: str, *, deadline: bool = False) -> None:
        """End every check still running, retrying or waiting, its last answer kept: as interrupted, or with
        `deadline` (the run's deadline, the deploy never finishing) as could not judge."""
        with self._verdicts_lock:
            if deadline:
                self.halted = self.halted or reason
            else:
                self.interrupted = self.interrupted or reason
            self.stop.set()
            self.run.transport.cancelled.set()
            for cid in list(self._open):
                last = self.verdicts.get(cid)
                ending: Ending = "could_not_judge" if deadline else "interrupted"
                exc = last.exception if last and isinstance(last.exception, Violation) else CouldNotJudge(
                    f"could not judge: {reason}" if deadline else reason)
                self.verdicts[cid] = Verdict(ending, exc, attempts=last.attempts if last else 0,
                                             elapsed_s=last.elapsed_s if last else 0.0,
                                             exchanges=last.exchanges if last else [])
            self._open.clear()

    def _round(self, checks: list[Check], start: float) -> dict[str, Verdict]:
        results: dict[str, Verdict] = {}
        pool = ThreadPoolExecutor(max_workers=min(MAX_CHECK_THREADS, max(1, len(checks))),
                                  thread_name_prefix="edgeverify-check")
        try:
            futures = {pool.submit(self._attempt, c, start): c for c in checks}
            done, not_done = wait(futures, timeout=max(0.0, self.run_deadline - time.monotonic()))
            for future, check in futures.items():
                if future in done:
                    results[check.id] = future.result()
                else:
                    results[check.id] = Verdict("could_not_judge", CouldNotJudge(
                        "could not judge: the run's deadline (timeouts.run) passed while this check was running"))
            if not_done:
                self.deadline_hit = True
                self.stop.set()
                self.run.transport.cancelled.set()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return results

    def _attempt(self, check: Check, start: float) -> Verdict:
        attempt = Attempt(self.run)
        try:
            check.fn(edge=attempt, **check.kwargs)
            exc: BaseException | None = None
        except CancelledError:
            exc = CouldNotJudge("could not judge: the run was stopped (interrupt or deadline)")
        except BaseException as raised:  # noqa: BLE001 - every ending is classified (model.ending_of)
            exc = raised
        exchanges = attempt.exchanges
        for ex in _exchanges_of(exc):
            if all(ex is not e for e in exchanges):
                exchanges.append(ex)
        return Verdict(ending_of(exc), exc, elapsed_s=time.monotonic() - start, exchanges=exchanges,
                       sent_unsafe=attempt.sent_unsafe, data=attempt.data)

    # -- the result ------------------------------------------------------------------------------
    def result_of(self, info: CheckInfo) -> CheckResult:
        """The check's result, formed once from its final verdict (one that never got one: not run)."""
        found = self._results.get(info.id)
        if found is not None:
            return found
        verdict = self.verdicts.get(info.id)
        if verdict is None:
            if self.interrupted:
                verdict = Verdict("interrupted", CouldNotJudge("not run: the run was interrupted"))
            elif self.halted:
                verdict = Verdict("could_not_judge", CouldNotJudge(f"not run: {self.halted}"))
            elif self.deadline_hit:
                verdict = Verdict("could_not_judge", CouldNotJudge(
                    "not run: the run's deadline (timeouts.run / --run-timeout) passed"))
            else:
                verdict = Verdict("could_not_judge", CouldNotJudge("not run: the run ended before it"))
        refs = tuple(self._ref(ex) for ex in verdict.exchanges)
        result = check_result(info, verdict, refs, api_prefix=self.target.api.prefix,
                              strict_advisories=self.policy.strict_advisories, known=self.policy.known,
                              today=self.policy.today)
        if info.id in self.verdicts:  # a result of a check that has not ended can still change
            self._results[info.id] = result
        return result

    def _ref(self, ex: Exchange) -> str:
        with self._lock:
            ref = self._refs.get(id(ex))
            if ref is None:
                ref = self._refs[id(ex)] = f"x{next(self._ref_numbers)}"
            return ref

    def result(self, infos: list[CheckInfo], *, note: str | None = None) -> RunResult:
        """The run's result: every selected check's, the release gate's, the evidence behind them."""
        from .latency import latency_block
        from .model import evidence_table
        from .reports import tool_version

        checks = tuple(self.result_of(info) for info in infos)
        verdicts = {c.id: self.verdicts[c.id] for c in checks if c.id in self.verdicts}
        for verdict in verdicts.values():
            for ex in verdict.exchanges:
                self._ref(ex)
        exchanges = evidence_table(checks, verdicts, self._refs)
        gate = self.gate
        marker = self.target.propagation.release_marker
        release = Release(marker=marker,
                          gate="none" if gate is None or not marker else ("passed" if gate.passed else "failed"),
                          served_after_s=None if gate is None or gate.waited_s is None else round(gate.waited_s, 3),
                          seen_at=None if gate is None or gate.seen_at is None else round(gate.seen_at, 3),
                          reason=redact(gate.reason()) if gate is not None and not gate.passed else None,
                          entry=seen_entry((ex for v in verdicts.values() for ex in v.exchanges), self.target))
        stats = self.run.transport.stats
        network = Network(stats.requests, self.run.distinct, stats.connections,
                          None if self.phase_s is None else round(self.phase_s, 3))
        edges = next((v.data["edges"] for v in verdicts.values() if "edges" in v.data), None)
        grade = next((v.data["security"] for v in verdicts.values() if "security" in v.data), None)
        if note is None and (self.deadline_hit or self.halted):
            note = self.halted or ("the run's deadline (timeouts.run / --run-timeout) passed; checks still running "
                                   "ended unjudged")
        target = self.target
        return RunResult(
            domain=target.domain, target=target.source or "", tool=tool_version(),
            target_name=Path(target.source).stem if target.source else target.domain,
            started_at=self.started_at, finished_at=time.time(), checks=checks, exchanges=exchanges,
            tls_verification=not target.insecure, release=release, network=network,
            interrupted=self.interrupted, note=redact(note) if note else None, fail_on=self.policy.fail_on,
            edges=edges, security=grade, selected=len(infos),
            latency=latency_block(exchanges.values(), target.api.prefix))

    def settle(self, infos: list[CheckInfo]) -> RunResult:
        """The result, once every check has ended, kept; the evidence behind it is then let go (a fleet's memory
        is bounded by the results, not by every answer of every target)."""
        self.final = self.result(infos)
        for verdict in self.verdicts.values():
            verdict.exchanges, verdict.exception = [], None
        self._refs.clear()
        self.run.forget()
        return self.final

    def close(self) -> None:
        self.run.close()


FLEET_CONCURRENCY = int(os.environ.get("EV_FC", "16"))  # targets whose checks run at once (each runs its own checks concurrently)


class Fleet:
    """Many targets' checks in this process, over the one transfer loop, `concurrency` targets at a time, on a
    thread of their own: whoever needs a target's outcomes waits for that target only (`wait`)."""

    def __init__(self, batches: list[tuple[Engine, list[Check]]], selected: dict[int, list[CheckInfo]],
                 concurrency: int = FLEET_CONCURRENCY) -> None:
        self.batches, self.selected = batches, selected
        self.done = {id(engine): threading.Event() for engine, _ in batches}
        self.finished = 0
        self._said = time.monotonic()
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(batches))),
                                        thread_name_prefix="edgeverify-target")

    def start(self) -> Fleet:
        for engine, checks in self.batches:
            self._pool.submit(self._one, engine, checks)
        return self

    def _one(self, engine: Engine, checks: list[Check]) -> None:
        started = time.monotonic()
        try:
            engine.run_checks(checks)
            if not engine.interrupted:
                engine.settle(self.selected.get(id(engine), []))
        finally:
            engine.phase_s = time.monotonic() - started
            self.finished += 1
            self.done[id(engine)].set()

    def wait(self, engine: Engine, progress: Callable[[str], None] | None = None, every_s: float = 2.0) -> None:
        """Until `engine`'s checks have ended (an interrupt in the waiting thread, the main one, stops it); then
        `progress` (targets judged of all) at most every `every_s`, and at the end."""
        event = self.done.get(id(engine))
        if event is None or event.is_set():
            return
        event.wait()
        if progress is not None and (time.monotonic() - self._said >= every_s or self.finished == len(self.done)):
            self._said = time.monotonic()
            progress(f"{self.finished} of {len(self.done)} targets judged")

    def interrupt(self, reason: str) -> None:
        """End every target's checks still running or waiting as interrupted."""
        for engine, _ in self.batches:
            engine.interrupt(reason)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for event in self.done.values():
            event.set()


def engines_for(targets: list[Target], transport_for: Callable[[Target], Any], run_deadline: float, policy: Policy,
                progress: Callable[[str], None] | None, reports_dir: Path | None = None) -> dict[str, Engine]:
    """An engine for each target, by domain, each with its own transport (all over the process's transfer loop)."""
    now = time.monotonic()
    engines = {t.domain: Engine(Run(t, transport_for(t)), now + t.propagation.timeout, run_deadline, policy, progress)
               for t in targets}
    for engine in engines.values():
        engine.run.reports_dir = reports_dir
    return engines


def run_batches(batches: list[tuple[Engine, list[Check]]], selected: dict[int, list[CheckInfo]],
                progress: Callable[[str], None]) -> Fleet | None:
    """One target: its checks run in this thread, now (an interrupt lands in its engine). Several: a Fleet is
    started, and returned, so that targets already judged can be reported while the others run."""
    if len(batches) > 1:
        return Fleet(batches, selected).start()
    for engine, checks in batches:
        started = time.monotonic()
        engine.run_checks(checks)
        engine.phase_s = time.monotonic() - started
        progress(f"{len(engine.verdicts)} checks judged {engine.run.transport.stats.requests} responses "
                 f"({engine.run.distinct} distinct requests) in {engine.phase_s:.2f} s")
    return None


def finish(engines: list[Engine], selected: dict[int, list[CheckInfo]], fleet: Fleet | None, *,
           interrupted: bool) -> list[RunResult]:
    """Every target's result, once its checks have ended (or were ended by the interrupt); transports closed."""
    if interrupted and fleet is not None:
        fleet.interrupt("interrupted")
    results = []
    for engine in engines:
        if fleet is not None:
            fleet.wait(engine)  # a target whose items pytest never reached (-x)
        if engine.final is not None:  # settled: every check of it had ended
            results.append(engine.final)
            engine.close()
            continue
        if interrupted:
            engine.interrupt(engine.halted or "interrupted", deadline=engine.halted is not None)
        results.append(engine.result(selected.get(id(engine), [])))
        engine.close()
    return [_predicted(engine.target, link_roots(cross_check(result))) for engine, result in zip(engines, results)]


def _predicted(target: Target, result: RunResult) -> RunResult:
    """With a `template` key: the template audit's predictions, and what this run found of each."""
    if not target.template:
        return result
    from .template.audit import run_predictions

    try:
        calls = [(c.method, c.path) for c in target.api.calls]
        return replace(result, predictions=run_predictions(target.template, target.domain, calls, result))
    except Exception as exc:  # noqa: BLE001 - a template that cannot be read fails no check: it is said
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return replace(result, warnings=(*result.warnings, redact(f"template predictions not made: {first}")))


def with_history(result: RunResult, view: dict[str, Any] | None, error: str | None) -> RunResult:
    """The result with its regression view (or why there is none)."""
    return replace(result, history=view, history_error=redact(error) if error else None)


def _exchanges_of(exc: BaseException | None) -> list[Exchange]:
    if isinstance(exc, Violation):
        return [e for e in [exc.exchange, *exc.extra] if e is not None]
    if isinstance(exc, CouldNotJudge) and isinstance(exc.exchange, Exchange):
        return [exc.exchange]
    return []


def _cut_by_deadline(verdict: Verdict) -> bool:
    """The verdict says only that the run's deadline stopped the check's requests."""
    exc = verdict.exception
    return (isinstance(exc, CouldNotJudge) and isinstance(exc.exchange, Exchange)
            and exc.exchange.error_phase == "deadline")


def _final_tls_fault(transport: Any) -> Violation | None:
    """The certificate finding when a TLS failure is one no propagation heals (a leaf sent without its
    intermediate): the release gate stops polling and names it; None otherwise."""
    from .rules.https import check_certificate

    try:
        check_certificate(transport.tls_handshake())
    except Violation as v:
        return v if v.final else None
    return None
