"""The one retry policy: until the deadline, never after an unrepeatable request, convergence measured."""

import time

import pytest

from edgeverify.retry import converge
from edgeverify.rules import Rule, Violation
from edgeverify.target import Propagation

FLAKY = Rule("unit.flaky", "unit", "a test rule", "why", "tests")  # not registered: RULES stays the product's
ADVICE = Rule("unit.advice", "unit", "a test advisory", "why", "tests", severity="advisory")
FAST = Propagation(timeout=2, interval=0.05, max_interval=0.1)


def failing_times(n: int, violation_rule=FLAKY):
    calls = []

    def check() -> str:
        calls.append(time.monotonic())
        if len(calls) <= n:
            raise Violation(violation_rule, "ok", f"not yet ({len(calls)})")
        return "done"

    return check, calls


def test_a_check_that_converges_reports_attempts_and_time():
    check, calls = failing_times(2)
    result, outcome = converge(check, FAST, time.monotonic() + 2)
    assert result == "done" and outcome.attempts == 3 == len(calls)
    assert outcome.converged_after_s is not None and 0.05 <= outcome.converged_after_s < 2


def test_a_check_passing_at_once_has_no_convergence_time():
    check, _ = failing_times(0)
    _, outcome = converge(check, FAST, time.monotonic() + 2)
    assert outcome.attempts == 1 and outcome.converged_after_s is None


def test_after_the_deadline_the_last_violation_says_attempts_and_elapsed_time():
    check, calls = failing_times(1000)
    started = time.monotonic()
    with pytest.raises(Violation) as info:
        converge(check, Propagation(timeout=0.5, interval=0.05, max_interval=0.1), started + 0.5)
    assert info.value.actual == f"not yet ({len(calls)})"  # the last answer, not the first
    assert info.value.attempts.count == len(calls) >= 4
    assert 0.45 <= info.value.attempts.elapsed_s < 2.0
    assert f"Attempts: {len(calls)} over" in info.value.render()
    assert calls[-1] - started >= 0.45  # the last attempt lands on the deadline, not before it


def test_backoff_doubles_up_to_the_cap():
    check, calls = failing_times(1000)
    with pytest.raises(Violation):
        converge(check, Propagation(timeout=1.2, interval=0.1, max_interval=0.4), time.monotonic() + 1.2)
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert 0.08 <= gaps[0] < 0.5 and 0.18 <= gaps[1] < 0.7 and gaps[1] > gaps[0] and all(g < 1.0 for g in gaps)


def test_no_retry_after_a_request_that_must_not_be_repeated():
    check, calls = failing_times(1000)
    with pytest.raises(Violation):
        converge(check, FAST, time.monotonic() + 2, may_retry=lambda: False)
    assert len(calls) == 1


def test_advisories_and_other_errors_are_not_retried():
    check, calls = failing_times(1000, ADVICE)
    with pytest.raises(Violation):
        converge(check, FAST, time.monotonic() + 2)
    assert len(calls) == 1

    def broken() -> None:
        calls.append(0)
        raise KeyError("a bug, not a convergence problem")

    with pytest.raises(KeyError):
        converge(broken, FAST, time.monotonic() + 2)
    assert len(calls) == 2


def test_a_deadline_in_the_past_means_one_attempt():
    check, calls = failing_times(1000)
    with pytest.raises(Violation):
        converge(check, FAST, time.monotonic() - 1)
    assert len(calls) == 1
