"""The one retry policy: try again until the propagation deadline.

Right after a deploy each edge may serve the old or the new configuration, and CloudFront caches
errors for 10 s, so waits between rounds of failing checks start at `interval` and back off past
that, capped at `max_interval`. The release gate polls at `interval` exactly: nothing has changed
yet that a longer wait would let settle. The last try lands on the deadline, never after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_result, wait_exponential, wait_fixed

from .target import Propagation

T = TypeVar("T")


def until_deadline(attempt: Callable[[], T], policy: Propagation, deadline: float, *, again: Callable[[T], bool],
                   fixed: bool = False, stop_event: threading.Event | None = None,
                   on_retry: Callable[[int, T, float], None] | None = None) -> tuple[T, int]:
    """Call `attempt` until `again(result)` is false or `deadline` (time.monotonic()) passes.

    Returns the last result and the number of tries. `fixed` polls at `interval` (the release gate);
    otherwise waits back off from `interval` to `max_interval`. Waits are cut at the deadline, and end
    at once when `stop_event` is set (an interrupt, the run's deadline).
    """
    base = wait_fixed(policy.interval) if fixed else wait_exponential(
        multiplier=policy.interval, min=policy.interval, max=policy.max_interval)

    def wait(state: RetryCallState) -> float:
        return max(0.0, min(base(state), deadline - time.monotonic()))

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action is not None:
            on_retry(state.attempt_number, state.outcome.result(), state.next_action.sleep)

    def sleep(seconds: float) -> None:
        if stop_event is not None:
            stop_event.wait(seconds)
        else:
            time.sleep(seconds)

    def stop(state: RetryCallState) -> bool:
        return time.monotonic() >= deadline - 0.01 or bool(stop_event and stop_event.is_set())

    retrying = Retrying(retry=retry_if_result(again), stop=stop, wait=wait, sleep=sleep, before_sleep=before_sleep,
                        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None)
    tries = 0

    def counted() -> T:
        nonlocal tries
        tries += 1
        return attempt()

    return retrying(counted), tries
