"""Wait until the edge serves the release the target declares, before the checks judge it."""

from __future__ import annotations

import dataclasses
from typing import Any

from .client import EdgeClient
from .exchange import Exchange
from .retry import converge
from .rules.propagation import check_release_marker
from .target import Target


def wait_for_release(client: EdgeClient, target: Target, deadline: float) -> float | None:
    """Seconds until the entry document carried the release marker; None when the target declares none.

    Raises the rule's Violation (attempts, elapsed time, what differed) after the deadline.
    """
    marker = target.propagation.release_marker
    if not marker:
        return None
    entry = entry_path(target)

    def attempt() -> None:
        check_release_marker(client.get(entry), marker)

    _, outcome = converge(attempt, target.propagation, deadline)
    return outcome.elapsed_s


def entry_path(target: Target) -> str:
    return target.static.pages[0] if target.static.pages else "/"


def entry_snapshot(target: Target) -> dict[str, Any] | None:
    """The entry document every check of the run judges, fetched once (before xdist starts workers).

    Mid-deploy, two workers fetching index.html can see two releases; with this snapshot they all
    discover the same assets. None when it is not usable yet (an error, or not yet the declared
    release): each worker then waits through its own release gate and fetches it itself.
    """
    client = EdgeClient(target)
    try:
        ex = client.get(entry_path(target))
    finally:
        client.session.close()
    marker = target.propagation.release_marker
    usable = ex.status == 200 and (not marker or marker in ex.text)
    return dataclasses.asdict(ex) if usable else None


def seed_entry(client: EdgeClient, target: Target, snapshot: dict[str, Any] | None) -> None:
    """Make the snapshot the client's shared answer for the entry document (until a check retries)."""
    if snapshot:
        client.seed(entry_path(target), Exchange(**snapshot))
