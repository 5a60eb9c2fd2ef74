"""Runs checks: the release gate, then rounds of checks sharing one set of answers, retried until the deadline.

A check is a plain function called with an `Attempt` (its evidence) as `edge`. All checks of a
round run concurrently, so their requests go out together over the run's bounded connections, each
distinct request once. Failing checks are re-run in later rounds (fresh answers) until the
propagation deadline, except those that sent an unsafe request; the run's own deadline
(timeouts.run) ends whatever is still running as an error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from .errors import CouldNotJudge
from .evidence import Attempt, Request, Run
from .exchange import Exchange
from .retry import until_deadline
from .rules import Attempts, Violation
from .rules.propagation import check_release_marker
from .target import Target

MAX_CHECK_THREADS = 64


@dataclass(slots=True)
class Check:
    """One check to run: its stable id, its function and the arguments it takes besides `edge`."""

    id: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    gated: bool = True  # waits for the release gate


@dataclass(slots=True)
class Verdict:
    """How a check ended: passed, failed (a Violation), error (could not judge) or other (skip, bug)."""

    status: str
    exception: BaseException | None = None
    attempts: int = 0
    elapsed_s: float = 0.0
    converged_after_s: float | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    sent_unsafe: bool = False  # never retried: the unsafe request goes out once per run

    @property
    def retryable(self) -> bool:
        return self.status in ("failed", "error") and not (
            isinstance(self.exception, Violation) and self.exception.advisory)


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
        text = self.violation.render() if isinstance(self.violation, Violation) else str(self.violation)
        return text


def entry_path(target: Target) -> str:
    return target.static.pages[0] if target.static.pages else "/"


def entry_request(target: Target) -> Request:
    """The entry document's GET, as every check that reads it asks for it (so it is shared)."""
    return Request.make("GET", entry_path(target))


class Engine:
    """Runs checks for one process against one target."""

    def __init__(self, run: Run, deadline: float, run_deadline: float,
                 progress: Callable[[str], None] | None = None) -> None:
        self.run = run
        self.target = run.target
        self.deadline = deadline  # propagation: failing checks are retried until then
        self.run_deadline = run_deadline  # nothing runs past this
        self.progress = progress or (lambda message: None)
        self.stop = threading.Event()
        self.gate: Gate | None = None
        self.verdicts: dict[str, Verdict] = {}
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.phase_s: float | None = None  # how long the batch of checks took, gate included (for reports)

    def seed_snapshot(self, ex: Exchange) -> None:
        """The entry document the controller fetched before xdist started: every worker judges that one."""
        self.run.seed(entry_request(self.target), ex)
        marker = self.target.propagation.release_marker
        if ex.complete and (not marker or marker in ex.text):
            self.gate = Gate(True, 0.0, tries=0)

    # -- the release gate ------------------------------------------------------------------------
    def release_gate(self) -> Gate:
        """Poll the entry document at `interval` until it carries the release marker (once per process)."""
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

            def poll() -> tuple[Exchange, Violation | CouldNotJudge | None]:
                ex = self.run.transport.request("GET", request.path)
                if not ex.complete:
                    return ex, CouldNotJudge(f"the release gate had no answer: GET {ex.path} -> {ex.status_line}", ex)
                try:
                    check_release_marker(ex, marker)
                except Violation as v:
                    v.context(self.target.api.prefix)
                    return ex, v
                return ex, None

            answered: list[Violation | CouldNotJudge] = []

            def polled() -> tuple[Exchange, Violation | CouldNotJudge | None]:
                ex, problem = poll()
                if problem is not None and ex.error_phase != "deadline":
                    answered.append(problem)
                return ex, problem

            (ex, problem), tries = until_deadline(polled, self.target.propagation, min(self.deadline, self.run_deadline),
                                                  again=lambda result: result[1] is not None, fixed=True,
                                                  stop_event=self.stop)
            if problem is not None and ex.error_phase == "deadline" and answered:
                problem = answered[-1]  # the last real answer says more than "the deadline came"
            if problem is None:
                self.run.seed(request, ex)  # the checks judge the very document the gate saw
                self.gate = Gate(True, time.monotonic() - start, tries=tries, seen_at=ex.started_at)
            else:
                self.gate = Gate(False, None, problem, tries)
            return self.gate

    # -- checks ----------------------------------------------------------------------------------
    def run_checks(self, checks: list[Check]) -> dict[str, Verdict]:
        """Run checks to their verdicts (stored in self.verdicts and returned)."""
        pending = [c for c in checks if c.id not in self.verdicts]
        if not pending:
            return self.verdicts
        if any(c.gated for c in pending):
            gate = self.release_gate()
            if not gate.passed:
                reason = ("could not judge: the release gate failed, so this check never ran against the new "
                          "release.\n" + gate.reason())
                for c in pending:
                    if c.gated:
                        self.verdicts[c.id] = Verdict("error", CouldNotJudge(reason), attempts=0)
                pending = [c for c in pending if not c.gated]
        start = time.monotonic()
        attempts: dict[str, int] = {}

        def one_round() -> list[Check]:
            for c in pending_now:
                attempts[c.id] = attempts.get(c.id, 0) + 1
            results = self._round(pending_now, start)
            retry = []
            for c in pending_now:
                verdict = results[c.id]
                previous = self.verdicts.get(c.id)
                if previous is not None and _cut_by_deadline(verdict):  # keep the last real answer
                    verdict = previous
                verdict.attempts = attempts[c.id]
                if verdict.status == "passed" and verdict.attempts > 1:
                    verdict.converged_after_s = verdict.elapsed_s
                if isinstance(verdict.exception, Violation):
                    verdict.exception.attempts = Attempts(verdict.attempts, verdict.elapsed_s,
                                                          self.target.propagation.timeout)
                self.verdicts[c.id] = verdict
                if verdict.retryable and not verdict.sent_unsafe:
                    retry.append(c)
            pending_now[:] = retry
            return retry

        pending_now = list(pending)
        deadline = min(self.deadline, self.run_deadline)

        def on_retry(tries: int, failing: list[Check], sleep: float) -> None:
            self.run.new_round()
            self.progress(f"{len(failing)} check(s) failing after try {tries}; trying again in {sleep:.1f} s "
                          f"({max(0.0, self.deadline - time.monotonic()):.0f} s to the propagation deadline)")

        if pending_now:
            until_deadline(one_round, self.target.propagation, deadline, again=bool, stop_event=self.stop,
                           on_retry=on_retry)
        return self.verdicts

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
                    results[check.id] = Verdict("error", CouldNotJudge(
                        "could not judge: the run's deadline (timeouts.run) passed while this check was running"))
            if not_done:
                self.stop.set()
                self.run.transport.cancelled.set()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return results

    def _attempt(self, check: Check, start: float) -> Verdict:
        attempt = Attempt(self.run)
        try:
            check.fn(edge=attempt, **check.kwargs)
            verdict = Verdict("passed")
        except Violation as exc:
            exc.context(self.target.api.prefix)
            verdict = Verdict("failed", exc)
        except CouldNotJudge as exc:
            verdict = Verdict("error", exc)
        except CancelledError:
            verdict = Verdict("error", CouldNotJudge("could not judge: the run was stopped (interrupt or deadline)"))
        except BaseException as exc:  # a skip, or a bug: the plugin re-raises it as pytest would
            verdict = Verdict("other", exc)
        verdict.exchanges = attempt.exchanges
        verdict.elapsed_s = time.monotonic() - start
        verdict.sent_unsafe = attempt.sent_unsafe
        return verdict


def _cut_by_deadline(verdict: Verdict) -> bool:
    """The verdict says only that the run's deadline stopped the check's requests."""
    exc = verdict.exception
    return (isinstance(exc, CouldNotJudge) and isinstance(exc.exchange, Exchange)
            and exc.exchange.error_phase == "deadline")
