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
    started = time.monotonic()
    result, tries = until_deadline(attempt, Propagation(timeout=0.5, interval=0.05, max_interval=0.1),
                                   started + 0.5, again=bool)
    assert result is True and tries == len(calls) >= 4
    assert 0.45 <= calls[-1] - started < 0.7  # on the deadline, not before it and not long after


def test_backoff_doubles_up_to_the_cap():
    attempt, calls = failing_times(1000)
    until_deadline(attempt, Propagation(timeout=1.2, interval=0.1, max_interval=0.4), time.monotonic() + 1.2,
                   again=bool)
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert 0.08 <= gaps[0] < 0.5 and 0.18 <= gaps[1] < 0.7 and gaps[1] > gaps[0] and all(g < 1.0 for g in gaps)


def test_the_release_gate_polls_at_the_interval_exactly():
    attempt, calls = failing_times(1000)
    until_deadline(attempt, Propagation(timeout=1.0, interval=0.1, max_interval=5), time.monotonic() + 1.0,
                   again=bool, fixed=True)
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert len(calls) >= 8 and all(0.08 <= g < 0.3 for g in gaps[:-1])  # no doubling


def test_a_deadline_in_the_past_means_one_attempt():
    attempt, calls = failing_times(1000)
    until_deadline(attempt, FAST, time.monotonic() - 1, again=bool)
    assert len(calls) == 1


def test_a_stop_event_ends_the_wait_at_once():
    attempt, calls = failing_times(1000)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    until_deadline(attempt, Propagation(timeout=30, interval=5, max_interval=5), started + 30, again=bool,
                   stop_event=stop)
    assert time.monotonic() - started < 1.5 and len(calls) <= 2
