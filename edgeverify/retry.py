"""The one retry policy: re-run a failing check until the propagation deadline.

Right after a deploy each edge may serve the old or the new configuration, and CloudFront caches
errors for 10 s, so waits start at `interval` and back off past that, capped at `max_interval`.
Only rule violations are retried (a bad target or a bug is not), and never after a request that
changes state went out, unless the target marked it safe to repeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential

from .rules import Attempts, Violation
from .target import Propagation

T = TypeVar("T")


@dataclass(slots=True)
class Outcome:
    """How a check converged."""

    attempts: int
    elapsed_s: float  # from the first attempt to the last
    converged_after_s: float | None  # set when it passed after at least one failure


def converge(check: Callable[[], T], policy: Propagation, deadline: float, *,
             may_retry: Callable[[], bool] = lambda: True,
             on_attempt: Callable[[int, Violation], None] | None = None) -> tuple[T, Outcome]:
    """Run `check` until it passes or `deadline` (time.monotonic()) passes; return its result and how it went.

    On final failure the last Violation is raised with its `attempts` filled in.
    """
    start = time.monotonic()
    count = 0

    def attempt() -> T:
        nonlocal count
        count += 1
        return check()

    def retryable(exc: BaseException) -> bool:
        return isinstance(exc, Violation) and not exc.advisory and may_retry()

    def before_sleep(state: RetryCallState) -> None:
        if on_attempt and state.outcome is not None:
            on_attempt(state.attempt_number, state.outcome.exception())  # type: ignore[arg-type]

    backoff = wait_exponential(multiplier=policy.interval, min=policy.interval, max=policy.max_interval)

    def wait(state: RetryCallState) -> float:  # the last attempt lands on the deadline, not before it
        return max(0.0, min(backoff(state), deadline - time.monotonic()))

    retrying = Retrying(
        retry=retry_if_exception(retryable),
        stop=lambda state: time.monotonic() >= deadline,
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        result = retrying(attempt)
    except Violation as exc:
        exc.attempts = Attempts(count, time.monotonic() - start, policy.timeout)
        raise
    elapsed = time.monotonic() - start
    return result, Outcome(count, elapsed, elapsed if count > 1 else None)
