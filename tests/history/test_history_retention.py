"""Retention: runs pruned by age and by count per target; the SQLite file kept under a size."""

from __future__ import annotations

from pathlib import Path

from history_builder import CHECKS, FAULT_A, run_doc

from edgeverify.history import Retention, open_db, prune, record_run, record_runs
from edgeverify.history.store import to_epoch, to_iso


def runs(url: str) -> list[tuple[str, str]]:
    with open_db(url) as db:
        return [(name, to_iso(t)) for name, t in db.query(
            "SELECT t.name, r.started_at FROM runs r JOIN targets t ON t.id = r.target_id ORDER BY t.name, started_at")]


def days(n: int, month: int = 11) -> list[str]:
    return [f"2026-{month:02d}-{d:02d}T01:00:00Z" for d in range(1, n + 1)]


def test_prune_by_age_keeps_the_young_runs(db_url: str) -> None:
    record_runs([run_doc(d) for d in days(10)], db_url)
    pruned = prune(db_url, keep_days=3, keep_runs=None, max_bytes=None, clock=lambda: to_epoch("2026-11-10T12:00:00Z"))
    assert pruned.runs_deleted == 7
    assert runs(db_url) == [("site", d) for d in days(10)[7:]]


def test_prune_by_count_keeps_the_newest_runs_of_each_target(db_url: str) -> None:
    record_runs([run_doc(d, target_name=t) for d in days(6) for t in ("a", "b")]
                + [run_doc(days(1)[0], target_name="c")], db_url)
    pruned = prune(db_url, keep_days=None, keep_runs=2, max_bytes=None)
    assert pruned.runs_deleted == 8
    assert runs(db_url) == [("a", d) for d in days(6)[4:]] + [("b", d) for d in days(6)[4:]] + [("c", days(1)[0])]
    with open_db(db_url) as db:  # no result rows left behind for the pruned runs
        assert db.query("SELECT COUNT(*) FROM results")[0][0] == 5 * len(CHECKS)


def test_record_run_applies_retention_after_each_run(db_url: str) -> None:
    keep = Retention(keep_days=None, keep_runs=3, max_bytes=None)
    for d in days(6):
        record_run(run_doc(d, [FAULT_A]), db_url, retention=keep)
    assert runs(db_url) == [("site", d) for d in days(6)[3:]]


def test_the_file_stays_under_its_size_bound_keeping_the_newest_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    many = [f"2026-{m:02d}-{d:02d}T01:00:00Z" for m in range(1, 13) for d in range(1, 29)]
    checks = [(f"static.served[pages:/p{i}]", "static.served", "static") for i in range(60)]
    record_runs([run_doc(d, checks=checks) for d in many], url)
    path = tmp_path / "h.sqlite"
    with open_db(url) as db:
        db.compact()
    unbounded = path.stat().st_size
    bound = unbounded // 4
    pruned = prune(url, keep_days=None, keep_runs=None, max_bytes=bound)
    assert pruned.vacuumed and pruned.runs_deleted > 0
    assert path.stat().st_size <= bound, (unbounded, bound, path.stat().st_size)
    kept = runs(url)
    assert kept[-1] == ("site", many[-1]) and kept == [("site", d) for d in many[-len(kept):]]
    again = prune(url, keep_days=None, keep_runs=None, max_bytes=bound)  # under the bound: nothing to do
    assert (again.runs_deleted, again.vacuumed) == (0, False)
