"""The one retry policy: until the deadline, backing off (or polling at a fixed interval), convergence counted."""

import threading
import time

from edgeverify.retry import until_deadline
from edgeverify.target import Propagation

FAST = Propagation(timeout=2, interval=0.05, max_interval=0.1)


def failing_times(n: int):
    calls: list[float] = []

    def attempt() -> bool:
        calls.append(time.monotonic())
        return len(calls) <= n  # True: still failing, try again

    return attempt, calls


def test_tries_until_the_result_is_good():
    attempt, calls = failing_times(2)
    result, tries = until_deadline(attempt, FAST, time.monotonic() + 2, again=bool)
    assert result is False and tries == 3 == len(calls)


def test_after_the_deadline_the_last_result_is_returned_and_the_last_try_lands_on_it():
    attempt, calls = failing_times(1000)
    planned: list[float] = []
    started = time.monotonic()
    result, tries = until_deadline(attempt, Propagation(timeout=0.5, interval=0.05, max_interval=0.1),
                                   started + 0.5, again=bool, on_retry=lambda n, r, wait: planned.append(wait))
    assert result is True and tries == len(calls) >= 2
    assert calls[-1] - started >= 0.49  # not before the deadline (later is the machine's load, not the policy)
    assert all(w <= 0.1 for w in planned)  # every wait within max_interval, cut at the deadline


def retried(policy: Propagation, tries: int, **kw: object) -> list[float]:
    """The waits the policy planned between `tries` failing tries (deadline far: the waits are the policy's own;
    asserted on what it decided, never on a loaded machine's clock)."""
    attempt, _ = failing_times(tries - 1)
    planned: list[float] = []
    until_deadline(attempt, policy, time.monotonic() + 60, again=bool,
                   on_retry=lambda n, r, wait: planned.append(round(wait, 6)), **kw)  # type: ignore[arg-type]
    return planned


def test_backoff_doubles_up_to_the_cap():
    assert retried(Propagation(timeout=60, interval=0.05, max_interval=0.2), 6) == [0.05, 0.1, 0.2, 0.2, 0.2]


def test_the_release_gate_polls_at_the_interval_exactly():
    assert retried(Propagation(timeout=60, interval=0.05, max_interval=5), 6, fixed=True) == [0.05] * 5  # no doubling


def test_a_deadline_in_the_past_means_one_attempt():
    attempt, calls = failing_times(1000)
    until_deadline(attempt, FAST, time.monotonic() - 1, again=bool)
    assert len(calls) == 1


def test_a_stop_event_ends_the_wait_at_once():
    attempt, calls = failing_times(1000)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    until_deadline(attempt, Propagation(timeout=30, interval=5, max_interval=5), time.monotonic() + 30, again=bool,
                   stop_event=stop)
    assert len(calls) <= 2  # the 5 s wait ended by the event (else: six tries in 30 s, and the test's own timeout)
