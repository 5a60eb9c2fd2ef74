"""Wait until a distribution is Deployed and none of its invalidations is in progress.

The plugin calls `wait_before_run` before the suites; `edgeverify wait --target FILE` runs it alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from ..errors import AwsError, EdgeverifyError
from ..target import Target, load_target
from .resources import resolve_distribution
from .session import aws_errors, client, has_credentials

POLL_INTERVAL = 5.0  # seconds between polls; the API is rate-limited, deploys take minutes
PROGRESS_EVERY = 30.0  # repeat an unchanged state this often, so a long wait visibly lives
DEFAULT_TIMEOUT = 900.0  # `edgeverify wait` when neither --timeout nor propagation.timeout is given


class NotDeployed(AwsError):
    """The deadline passed with the distribution still deploying or invalidating."""


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
    """Poll until Deployed with no invalidation in progress; the seconds waited. AwsError at the deadline."""
    start = time.monotonic()
    last, last_shown = "", 0.0
    while True:
        status, pending = pending_state(cf, distribution_id)
        now = time.monotonic()
        state = _describe(distribution_id, status, pending)
        if status == "Deployed" and not pending:
            if last:  # only a wait that happened is worth a line
                progress(f"{state}: ready after {now - start:.0f} s")
            return now - start
        remaining = deadline_monotonic - now
        if remaining <= 0:
            raise NotDeployed(f"{state} after waiting {now - start:.0f} s (the deadline); the deploy has not "
                           "reached every edge yet. Wait longer (--propagation-timeout, or edgeverify wait "
                           "--timeout), or set aws.wait: false to run against a distribution mid-deploy.")
        if state != last or now - last_shown >= PROGRESS_EVERY:
            progress(f"waiting: {state} ({now - start:.0f} s elapsed, up to {remaining:.0f} s more)")
            last, last_shown = state, now
        sleep(min(POLL_INTERVAL if interval is None else interval, remaining))


def wait_before_run(target: Target, deadline_monotonic: float, progress: Callable[[str], None]) -> float | None:
    """The pre-suite wait: the seconds waited, or None when the target names no distribution, has aws.wait off,
    or no credentials are available (the config suite then reports the skip)."""
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
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help=f"give up after this long (default: propagation.timeout, else {DEFAULT_TIMEOUT:g})")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"edgeverify wait: {message}", file=sys.stderr, flush=True)

    try:
        target = load_target(args.target)
        if not (target.aws.distribution_id or target.aws.stack):
            raise AwsError(f"{args.target} names no aws.distribution_id or aws.stack: nothing to wait for.")
        timeout = args.timeout if args.timeout is not None else (target.propagation.timeout or DEFAULT_TIMEOUT)
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
