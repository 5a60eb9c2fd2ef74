"""Wait until the edge serves the release the target declares, before the checks judge it."""

from __future__ import annotations

from .client import EdgeClient
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
    entry = target.static.pages[0] if target.static.pages else "/"

    def attempt() -> None:
        check_release_marker(client.get(entry), marker)

    _, outcome = converge(attempt, target.propagation, deadline)
    return outcome.elapsed_s
