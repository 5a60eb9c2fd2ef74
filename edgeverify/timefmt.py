"""Times as reports and the run history write them: ISO 8601 in UTC, to the millisecond.

A run's start names it in the history (one run per target and start time), so two runs of a target that start
within the same second must not share a name: the milliseconds are kept whenever they are not zero.
"""

from __future__ import annotations

from datetime import datetime, timezone


def iso(epoch: float) -> str:
    """Seconds since the epoch as '2026-11-26T01:00:00.250Z' (the milliseconds left out when whole)."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = round((epoch - int(epoch)) * 1000) if epoch >= 0 else 0
    return text + (f".{millis:03d}" if 0 < millis < 1000 else "") + "Z"


def epoch(text: str) -> float:
    """An ISO 8601 time ('2026-11-26T01:00:00Z', with or without milliseconds, or a date) as seconds since the
    epoch, UTC; ValueError when it is not one."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
