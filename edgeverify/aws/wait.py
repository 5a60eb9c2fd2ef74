"""Wait until a distribution is Deployed and none of its invalidations is in progress.

The plugin calls `wait_before_run` before the suites; `edgeverify wait --target FILE` runs it alone.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from ..errors import AwsError, EdgeverifyError, TargetError
from ..target import Target, load_target
from .resources import resolve_distribution
from .session import aws_errors, client, has_credentials

POLL_INTERVAL = 5.0  # seconds between polls; the API is rate-limited, deploys take minutes
PROGRESS_EVERY = 5.0  # at most one progress line this often, saying what is still pending
DEFAULT_TIMEOUT = 900.0  # `edgeverify wait` when neither --timeout nor propagation.timeout is given


class NotDeployed(AwsError):
    """The deadline passed with the distribution still deploying or invalidating; str() is the one-line reason."""

    def __init__(self, message: str, distribution_id: str = "", status: str = "", pending: list[str] | None = None,
                 waited_s: float = 0.0) -> None:
        super().__init__(message)
        self.distribution_id = distribution_id
        self.status = status
        self.pending = list(pending or [])
        self.waited_s = waited_s


def check_timeout(seconds: float, what: str = "--timeout") -> float:
    """A wait bound must be a finite number of seconds, 0 or more; TargetError (exit 4) otherwise."""
    if not math.isfinite(seconds) or seconds < 0:
        raise TargetError(f"{what} is {seconds:g}: give a finite number of seconds, 0 or more (e.g. 900).")
    return seconds


def pending_state(cf: Any, distribution_id: str) -> tuple[str, list[str]]:
    """(distribution status, ids of invalidations not yet completed)."""
    with aws_errors(f"reading CloudFront distribution {distribution_id}"):
        status = cf.get_distribution(Id=distribution_id)["Distribution"].get("Status", "")
    with aws_errors(f"listing invalidations of {distribution_id}"):
        # Newest first: in-progress invalidations are recent, so the first page holds them.
        listed = cf.list_invalidations(DistributionId=distribution_id).get("InvalidationList") or {}
    return status, [i["Id"] for i in listed.get("Items") or [] if str(i.get("Status", "")).lower() != "completed"]


def _describe(distribution_id: str, status: str, pending: list[str]) -> str:
    state = f"distribution {distribution_id} {status or 'unknown'}"
    return state + (f"; invalidations in progress: {', '.join(pending)}" if pending else "")


def wait_deployed(cf: Any, distribution_id: str, deadline_monotonic: float, progress: Callable[[str], None], *,
                  interval: float | None = None, sleep: Callable[[float], None] = time.sleep) -> float:
    """Poll until Deployed with no invalidation in progress; the seconds waited. NotDeployed at the deadline.

    Progress goes to `progress` at most every PROGRESS_EVERY seconds, naming what is pending.
    """
    start = time.monotonic()
    if not math.isfinite(deadline_monotonic):  # nan never compares past: the loop would never end
        raise TargetError(f"the wait deadline is {deadline_monotonic:g}: the propagation timeout must be a finite "
                          "number of seconds, 0 or more.")
    shown, last_shown = False, 0.0
    while True:
        status, pending = pending_state(cf, distribution_id)
        now = time.monotonic()
        state = _describe(distribution_id, status, pending)
        if status == "Deployed" and not pending:
            if shown:  # only a wait that happened is worth a line
                progress(f"{state}: ready after {now - start:.0f} s")
            return now - start
        remaining = deadline_monotonic - now
        if remaining <= 0:
            raise NotDeployed(f"{state} after waiting {now - start:.0f} s (the deadline); the deploy has not "
                              "reached every edge yet. Wait longer (--propagation-timeout, or edgeverify wait "
                              "--timeout), or set aws.wait: false to run against a distribution mid-deploy.",
                              distribution_id, status, pending, now - start)
        if not shown or now - last_shown >= PROGRESS_EVERY:
            progress(f"waiting: {state} ({now - start:.0f} s elapsed, up to {remaining:.0f} s more)")
            shown, last_shown = True, now
        sleep(min(POLL_INTERVAL if interval is None else interval, remaining))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TargetError(f"--timeout is '{text}': give a number of seconds, 0 or more (e.g. 900).") from None
    return check_timeout(value)


def wait_before_run(target: Target, deadline_monotonic: float, progress: Callable[[str], None]) -> float | None:
    """The pre-suite wait: the seconds waited, or None when the target names no distribution, has aws.wait off,
    or no credentials are available (the config suite then reports the skip).

    Raises NotDeployed at the deadline, TargetError for a deadline that is not a finite time, AwsError when AWS
    cannot be read; each carries a one-line message for the run's reports.
    """
    aws = target.aws
    if not aws.wait or not (aws.distribution_id or aws.stack):
        return None
    if not has_credentials(aws):
        progress("not waiting for the deploy: no AWS credentials (boto3 chain)")
        return None
    cf = client("cloudfront", aws)
    distribution_id, _ = resolve_distribution(aws, cf)
    return wait_deployed(cf, distribution_id, deadline_monotonic, progress)


def main(argv: list[str] | None = None) -> int:
    """`edgeverify wait --target FILE [--timeout S]`: 0 when ready, 1 at the deadline, 4 on any other error."""
    parser = argparse.ArgumentParser(prog="edgeverify wait",
                                     description="Wait until the target's distribution is Deployed and its "
                                                 "invalidations are complete.")
    parser.add_argument("--target", required=True, metavar="FILE",
                        help="target YAML naming aws.distribution_id or aws.stack")
    parser.add_argument("--timeout", default=None, metavar="SECONDS",
                        help=f"give up after this long (default: propagation.timeout, else {DEFAULT_TIMEOUT:g})")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"edgeverify wait: {message}", file=sys.stderr, flush=True)

    try:
        given = _seconds(args.timeout) if args.timeout is not None else None
        target = load_target(args.target)
        if not (target.aws.distribution_id or target.aws.stack):
            raise AwsError(f"{args.target} names no aws.distribution_id or aws.stack: nothing to wait for.")
        timeout = given if given is not None else check_timeout(target.propagation.timeout or DEFAULT_TIMEOUT,
                                                                 "propagation.timeout")
        cf = client("cloudfront", target.aws)
        distribution_id, _ = resolve_distribution(target.aws, cf)
        waited = wait_deployed(cf, distribution_id, time.monotonic() + timeout, progress)
    except NotDeployed as exc:
        progress(str(exc))
        return 1
    except EdgeverifyError as exc:
        progress(str(exc))
        return 4
    print(f"{distribution_id} Deployed, no invalidation in progress (waited {waited:.0f} s)")
    return 0


def wait_for_deploys(engines: list[Any], progress: Callable[[str], None]) -> None:
    """Before any check: each target that names a distribution and asks (aws.wait) waits until it is Deployed.
    One not deployed by its deadline has all its checks end unjudged, saying so (engine.interrupt)."""
    for engine in engines:
        target = engine.target
        if not ((target.aws.distribution_id or target.aws.stack) and target.aws.wait):
            continue
        try:
            wait_before_run(target, min(engine.deadline, engine.run_deadline), progress)
        except NotDeployed as exc:
            engine.interrupt(f"the distribution was not deployed in time: {exc}", deadline=True)

