"""wait: polls until the distribution is Deployed and no invalidation is in progress, bounded by the deadline."""

from __future__ import annotations

import time
from typing import Any

import pytest

from edgeverify.aws import wait
from moto_configs import NEVER, create, good_config


class InvalidationsInProgress:
    """moto completes invalidations at once: this wrapper reports them InProgress for the first `polls` listings."""

    def __init__(self, cf: Any, polls: int) -> None:
        self.cf, self.polls = cf, polls

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cf, name)

    def list_invalidations(self, **kwargs: Any) -> dict[str, Any]:
        listed = self.cf.list_invalidations(**kwargs)
        if self.polls > 0:
            self.polls -= 1
            for item in listed["InvalidationList"].get("Items") or []:
                item["Status"] = "InProgress"
        return listed


def test_waits_until_deployed(cf, distribution_state):
    distribution_state(3)  # InProgress for the first two reads, Deployed on the third
    distribution_id = create(cf, good_config())
    messages: list[str] = []
    sleeps: list[float] = []
    wait.wait_deployed(cf, distribution_id, time.monotonic() + 10, messages.append, interval=0.2,
                       sleep=sleeps.append)
    assert sleeps == [0.2, 0.2]  # polled at its interval until Deployed, then returned
    assert messages[0].startswith(f"waiting: distribution {distribution_id} InProgress")
    assert messages[-1].startswith(f"distribution {distribution_id} Deployed: ready after")


def test_waits_for_invalidations(cf):
    distribution_id = create(cf, good_config())
    invalidation = cf.create_invalidation(DistributionId=distribution_id, InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "deploy-1"})["Invalidation"]["Id"]
    messages: list[str] = []
    sleeps: list[float] = []
    wait.wait_deployed(InvalidationsInProgress(cf, polls=2), distribution_id, time.monotonic() + 10,
                       messages.append, sleep=sleeps.append)
    assert sleeps == [5.0, 5.0]  # the poll interval, not more than the time left
    assert f"invalidations in progress: {invalidation}" in messages[0]
    assert "ready after" in messages[-1]


def test_already_deployed_returns_at_once_and_silently(cf):
    messages: list[str] = []
    sleeps: list[float] = []
    wait.wait_deployed(cf, create(cf, good_config()), time.monotonic(), messages.append, sleep=sleeps.append)
    assert messages == [] and sleeps == []  # not one poll interval slept


def test_deadline_names_what_is_still_in_progress(cf, distribution_state):
    distribution_state(NEVER)
    distribution_id = create(cf, good_config())
    with pytest.raises(wait.NotDeployed) as info:
        wait.wait_deployed(cf, distribution_id, time.monotonic() + 0.3, lambda _: None, interval=0.1)
    message = str(info.value)
    assert f"distribution {distribution_id} InProgress after waiting" in message and "\n" not in message


def write_target(tmp_path, aws_lines: str):
    path = tmp_path / "target.yaml"
    path.write_text(f"domain: www.example.test\naws:\n{aws_lines}")
    return path


def test_cli_waits_and_reports(cf, aws, tmp_path, capsys, distribution_state, monkeypatch):
    monkeypatch.setattr(wait, "POLL_INTERVAL", 0.2)
    distribution_state(3)  # InProgress for two reads: seen deploying, whatever the machine's load
    distribution_id = create(cf, good_config())
    path = write_target(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {aws.endpoint_url}\n")
    assert wait.main(["--target", str(path), "--timeout", "10"]) == 0
    out, err = capsys.readouterr()
    assert f"{distribution_id} Deployed, no invalidation in progress" in out
    assert "edgeverify wait: waiting: distribution" in err


def test_cli_timeout_exit_code(cf, aws, tmp_path, capsys, distribution_state):
    distribution_state(NEVER)
    distribution_id = create(cf, good_config())
    path = write_target(tmp_path, f"  distribution_id: {distribution_id}\n  endpoint_url: {aws.endpoint_url}\n")
    assert wait.main(["--target", str(path), "--timeout", "0.2"]) == 1
    assert "InProgress after waiting" in capsys.readouterr().err


def test_cli_errors(aws, tmp_path, capsys):
    path = write_target(tmp_path, f"  distribution_id: ENOSUCHDIST00\n  endpoint_url: {aws.endpoint_url}\n")
    assert wait.main(["--target", str(path)]) == 4
    assert "NoSuchDistribution" in capsys.readouterr().err
    path = write_target(tmp_path, "  region: us-east-1\n")
    assert wait.main(["--target", str(path)]) == 4
    assert "names no aws.distribution_id or aws.stack: nothing to wait for" in capsys.readouterr().err


def test_pre_run_wait_is_a_no_op_without_distribution_or_credentials(aws, tmp_path, monkeypatch):
    from edgeverify.target import load_target

    messages: list[str] = []
    plain = load_target(write_target(tmp_path, "  wait: true\n"))
    assert wait.wait_before_run(plain, time.monotonic(), messages.append) is None
    named = load_target(write_target(tmp_path, f"  distribution_id: E1\n  endpoint_url: {aws.endpoint_url}\n"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    assert wait.wait_before_run(named, time.monotonic(), messages.append) is None
    assert messages == ["not waiting for the deploy: no AWS credentials (boto3 chain)"]


@pytest.mark.parametrize("timeout", ["nan", "inf", "-5", "soon"])
def test_cli_refuses_a_timeout_that_is_not_a_finite_time(aws, tmp_path, capsys, timeout):
    path = write_target(tmp_path, f"  distribution_id: E1\n  endpoint_url: {aws.endpoint_url}\n")
    assert wait.main(["--target", str(path), "--timeout", timeout]) == 4
    err = capsys.readouterr().err
    assert err.startswith("edgeverify wait: --timeout is ") and "give a" in err and err.count("\n") == 1, err


def test_a_deadline_that_is_not_a_time_is_refused(cf):
    from edgeverify.errors import TargetError

    with pytest.raises(TargetError, match="the wait deadline is nan"):
        wait.wait_deployed(cf, create(cf, good_config()), float("nan"), lambda _: None)


def test_progress_at_most_every_few_seconds_naming_what_is_pending(cf, distribution_state, monkeypatch):
    distribution_state(NEVER)
    distribution_id = create(cf, good_config())
    clock = [1000.0]
    monkeypatch.setattr(wait.time, "monotonic", lambda: clock[0])
    messages: list[str] = []

    def sleep(seconds: float) -> None:
        clock[0] += 1.0  # polls every second: progress must still come at most every PROGRESS_EVERY

    with pytest.raises(wait.NotDeployed) as info:
        wait.wait_deployed(cf, distribution_id, 1000.0 + 12, messages.append, sleep=sleep)
    assert len(messages) == 3  # at 0, 5 and 10 s of 12
    assert all(m.startswith(f"waiting: distribution {distribution_id} InProgress") for m in messages)
    assert (info.value.distribution_id, info.value.status, info.value.pending) == (distribution_id, "InProgress", [])
    assert info.value.waited_s == 12.0


def test_pre_run_wait_raises_a_typed_error_with_its_reason(cf, aws, tmp_path, distribution_state):
    from edgeverify.target import load_target

    distribution_state(NEVER)
    distribution_id = create(cf, good_config())
    target = load_target(write_target(tmp_path, f"  distribution_id: {distribution_id}\n"
                                                f"  endpoint_url: {aws.endpoint_url}\n"))
    with pytest.raises(wait.NotDeployed, match=f"distribution {distribution_id} InProgress after waiting 0 s"):
        wait.wait_before_run(target, time.monotonic(), lambda _: None)
