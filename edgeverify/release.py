"""The entry document every check of a run judges, fetched once before xdist starts its workers.

The release gate itself (waiting for propagation.release_marker) is the engine's (engine.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .client import EdgeClient
from .engine import entry_path
from .exchange import Exchange
from .target import Target


def entry_snapshot(target: Target) -> dict[str, Any] | None:
    """The entry document, fetched once by the xdist controller, as plain data for the workers.

    Mid-deploy, two workers fetching index.html can see two releases; with this snapshot they all
    discover the same assets. None when it is not usable yet (an error, or not yet the declared
    release): each worker then waits through its own release gate.
    """
    client = EdgeClient(target)
    try:
        ex = client.get(entry_path(target))
    finally:
        client.close()
    marker = target.propagation.release_marker
    usable = ex.complete and ex.status == 200 and (not marker or marker in ex.text)
    return dataclasses.asdict(ex) if usable else None


def snapshot_exchange(snapshot: dict[str, Any]) -> Exchange:
    data = dict(snapshot)
    data["headers"] = [tuple(h) for h in data.get("headers", [])]
    data["request_headers"] = [tuple(h) for h in data.get("request_headers", [])]
    data["connect_to"] = tuple(data.get("connect_to", ()))
    return Exchange(**data)
