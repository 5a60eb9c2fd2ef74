"""Retention: drop runs older than a number of days, beyond a number per target, and past a size."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from .store import Clock, Database, open_db


@dataclass(frozen=True, slots=True)
class Retention:
    """What `prune` keeps: runs younger than keep_days, the newest keep_runs per target, under max_bytes."""

    keep_days: float | None = 400.0
    keep_runs: int | None = 2000
    max_bytes: int | None = 512 * 1024 * 1024


DEFAULT_RETENTION = Retention()

SIZE_SLACK = 0.8  # after pruning for size, the live data fills at most this share of max_bytes


@dataclass(frozen=True, slots=True)
class Pruned:
    runs_deleted: int
    vacuumed: bool
    size_bytes: int


def prune(url: str, keep_days: float | None = DEFAULT_RETENTION.keep_days,
          keep_runs: int | None = DEFAULT_RETENTION.keep_runs, max_bytes: int | None = DEFAULT_RETENTION.max_bytes,
          *, clock: Clock | None = None) -> Pruned:
    """Delete runs older than keep_days, beyond the newest keep_runs of each target, and the oldest runs
    while the database is over max_bytes (then VACUUM); None turns a limit off."""
    with open_db(url) as db:
        return prune_open(db, Retention(keep_days, keep_runs, max_bytes), (clock or time.time)())


def prune_open(db: Database, retention: Retention, now: float) -> Pruned:
    """`prune` on an open database."""
    deleted = 0
    if retention.keep_days is not None:
        cutoff = now - retention.keep_days * 86400
        deleted += db.write(partial(_delete, where="started_at < ?", params=(cutoff,)))
    if retention.keep_runs is not None:
        keep = max(retention.keep_runs, 1)
        for (target_id,) in db.query("SELECT target_id FROM runs GROUP BY target_id HAVING COUNT(*) > ?", (keep,)):
            edge = db.query("SELECT started_at FROM runs WHERE target_id = ? ORDER BY started_at DESC, id DESC "
                            "LIMIT 1 OFFSET ?", (target_id, keep - 1))[0][0]
            deleted += db.write(partial(_delete, where="target_id = ? AND started_at < ?", params=(target_id, edge)))
    vacuumed = False
    if retention.max_bytes is not None and db.size_bytes() > retention.max_bytes:
        goal = retention.max_bytes * SIZE_SLACK
        while db.used_bytes() > goal:
            total = db.query("SELECT COUNT(*) FROM runs")[0][0]
            if total <= 1:
                break
            edge = db.query("SELECT started_at FROM runs ORDER BY started_at, id LIMIT 1 OFFSET ?",
                            (max(total // 10, 1),))[0][0]
            removed = db.write(partial(_delete, where="started_at < ?", params=(edge,)))
            if not removed:
                break
            deleted += removed
        db.compact()
        vacuumed = True
    return Pruned(deleted, vacuumed, db.size_bytes())


def _delete(db: Database, where: str, params: tuple[float, ...]) -> int:
    runs = f"SELECT id FROM runs WHERE {where}"
    db.execute(f"DELETE FROM results WHERE run_id IN ({runs})", params)
    db.execute(f"DELETE FROM latency WHERE run_id IN ({runs})", params)
    count = db.execute(f"DELETE FROM runs WHERE {where}", params)
    if count:
        db.execute("DELETE FROM items WHERE NOT EXISTS (SELECT 1 FROM results WHERE results.item_id = items.id)")
        db.execute("DELETE FROM entries WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.entry_id = entries.id)")
        db.execute("DELETE FROM targets WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.target_id = targets.id)")
    return count
