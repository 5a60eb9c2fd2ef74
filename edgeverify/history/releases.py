"""The entry documents runs saw (skew.py says what is recorded and why): stored once per release, recalled newest
first from the target's passing runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .store import Database, open_db


def entry_id(db: Database, target_id: int, entry: dict[str, Any]) -> int:
    """The id of this entry document of the target (`skew.bounded` form), stored the first time it is seen."""
    db.execute("INSERT INTO entries (target_id, sha256, url, bytes, assets, assets_total, document)"
               " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target_id, sha256) DO NOTHING",
               (target_id, entry["sha256"], entry["url"], entry["bytes"], json.dumps(entry["assets"]),
                entry["assets_total"], entry["document"]))
    return int(db.query("SELECT id FROM entries WHERE target_id = ? AND sha256 = ?",
                        (target_id, entry["sha256"]))[0][0])


def recall(url: str, name: str, domain: str, count: int) -> list[Any]:
    """The `count` newest distinct entry documents the target's passing runs saw, newest first (skew.RecordedRelease
    each). A SQLite history that does not exist yet is empty (reading never creates it)."""
    return recall_many(url, [(name, domain)], count)[(name, domain)]


def recall_many(url: str, targets: list[tuple[str, str]], count: int) -> dict[tuple[str, str], list[Any]]:
    """`recall` for each (name, domain), over one connection (one wait, not one per target, when it cannot open)."""
    found: dict[tuple[str, str], list[Any]] = {t: [] for t in targets}
    if url.startswith("sqlite://") or "://" not in url:
        if not Path(url.removeprefix("sqlite://")).is_file():
            return found
    with open_db(url) as db:
        for name, domain in targets:
            ids = db.query("SELECT id FROM targets WHERE name = ? AND domain = ?", (name, domain))
            if ids:
                found[(name, domain)] = _newest(db, int(ids[0][0]), count)
    return found


def _newest(db: Database, target_id: int, count: int) -> list[Any]:
    from ..skew import RecordedRelease

    found = []
    newest = db.query("SELECT entry_id, MAX(started_at) FROM runs WHERE target_id = ? AND entry_passed = 1"
                      " AND entry_id IS NOT NULL GROUP BY entry_id ORDER BY 2 DESC LIMIT ?", (target_id, count))
    for eid, started in newest:
        run_id = db.query("SELECT MAX(id) FROM runs WHERE target_id = ? AND entry_id = ? AND started_at = ?",
                          (target_id, eid, started))[0][0]
        url, sha, size, assets, total, document = db.query(
            "SELECT url, sha256, bytes, assets, assets_total, document FROM entries WHERE id = ?", (eid,))[0]
        found.append(RecordedRelease(int(run_id), float(started), str(url), str(sha), int(size),
                                     tuple(str(a) for a in json.loads(assets)), int(total), document))
    return found
