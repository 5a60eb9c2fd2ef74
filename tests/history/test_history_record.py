"""Recording runs: what is stored (and what never is), one transaction per run, concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from history_builder import BODY_MARKER, CHECKS, FAULT_A, FAULT_B, SECRET, run_doc

from edgeverify.history import HistoryError, open_db, record_run, record_runs
from edgeverify.history.store import to_epoch
from edgeverify.history.migrations import LATEST
from edgeverify.redact import register_secret

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def everything(url: str) -> str:
    """Every value of every table, as one text."""
    with open_db(url) as db:
        tables = ["schema_version", "targets", "runs", "items", "results"]
        return json.dumps({t: db.query(f"SELECT * FROM {t}") for t in tables}, default=str)


def test_a_run_is_stored_with_its_checks(db_url: str) -> None:
    doc = run_doc("2026-11-26T01:00:00Z", [FAULT_A], converged={FAULT_A: 4.25})
    doc["checks"][4]["pops"] = ["LAB50-C1", "LAB51-C2"]
    run_id = record_run(doc, db_url)
    with open_db(db_url) as db:
        (run,) = db.query("SELECT r.id, t.name, t.domain, r.release, r.started_at, r.finished_at, r.convergence_s, "
                          "r.failures, r.exit_status FROM runs r JOIN targets t ON t.id = r.target_id")
        rows = {r[0]: r[1:] for r in db.query(
            "SELECT i.check_id, i.rule, i.suite, s.status, s.accepted, s.attempts, s.converged_after_s, s.pops, "
            "s.title, s.cause FROM results s JOIN items i ON i.id = s.item_id WHERE s.run_id = ?", (run_id,))}
    assert run == (run_id, "site", "www.example.test", "build-1", to_epoch("2026-11-26T01:00:00Z"),
                   to_epoch("2026-11-26T01:00:00Z"), 4.25, 1, 1)
    assert set(rows) == {c[0] for c in CHECKS}
    assert rows[FAULT_A] == ("cache.immutable_assets", "cache", "F", 0, 3, 4.25, "LAB50-C1,LAB51-C2",
                             f"FAILED [cache.immutable_assets] {FAULT_A} does not hold", "the object is missing")
    assert rows["https.hsts[/]"] == ("https.hsts", "https", "P", 0, 1, None, "LAB50-C1", None, None)
    assert rows["static.leaky_headers[/]"][2:3] == ("A",)
    assert rows["static.leaky_headers[/]"][7] == "Server header reveals nginx"


def test_bodies_headers_curl_lines_and_secrets_are_never_stored(db_url: str) -> None:
    register_secret(SECRET, "API_TOKEN")
    doc = run_doc("2026-11-26T01:00:00Z", [FAULT_A, FAULT_B], status="error")
    doc["checks"][4]["cause"] = f"the origin answered with token {SECRET}"
    doc["checks"][4]["message"] = f"ERROR [cache.immutable_assets] token {SECRET}\n  Actual: {BODY_MARKER}"
    record_run(doc, db_url)
    stored = everything(db_url)
    assert FAULT_A in stored and "ERROR [cache.immutable_assets] token ${API_TOKEN}" in stored
    assert "the origin answered with token ${API_TOKEN}" in stored
    for leak in (SECRET, BODY_MARKER, "curl ", "Authorization", "<html>", "Expected:", "content-type"):
        assert leak not in stored, leak


def test_recording_the_same_report_twice_keeps_one_run(db_url: str) -> None:
    doc = run_doc("2026-11-26T01:00:00Z", [FAULT_A])
    first = record_run(doc, db_url)
    assert record_run(doc, db_url) == first
    assert record_runs([doc, run_doc("2026-11-27T01:00:00Z")], db_url)[0] == first
    with open_db(db_url) as db:
        assert db.query("SELECT COUNT(*) FROM runs")[0][0] == 2
        assert db.query("SELECT COUNT(*) FROM results")[0][0] == 2 * len(CHECKS)


def test_a_report_without_times_or_domain_is_refused_clearly(db_url: str) -> None:
    doc = run_doc("2026-11-26T01:00:00Z")
    del doc["started_at"], doc["finished_at"]
    with pytest.raises(HistoryError, match="no started_at"):
        record_run(doc, db_url)
    with pytest.raises(HistoryError, match="'yesterday' is not an ISO 8601 time"):
        record_run(dict(doc, started_at="yesterday"), db_url)
    with pytest.raises(HistoryError, match="no domain"):
        record_run(dict(doc, started_at="2026-11-26T01:00:00Z", domain=""), db_url)
    assert '"runs": []' in everything(db_url)  # nothing half-written


def test_a_batch_lands_whole_or_not_at_all(db_url: str) -> None:
    docs = [run_doc(f"2026-11-{d:02d}T01:00:00Z") for d in range(1, 4)] + [run_doc("not a time")]
    with pytest.raises(HistoryError):
        record_runs(docs, db_url)
    assert '"runs": []' in everything(db_url)
    assert len(record_runs(docs[:3], db_url)) == 3


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {here!r})
    from history_builder import run_doc, FAULT_A
    from edgeverify.history import record_run
    url, who, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    time.sleep(max(0.0, go - time.time()))
    for i in range(count):
        doc = run_doc(f"2026-11-{{1 + i // 24:02d}}T{{i % 24:02d}}:00:00Z", [FAULT_A] if i % 3 else [],
                      target_name=who)
        record_run(doc, url)
    print("done", who)
""")


def test_two_processes_writing_at_once_both_land_complete(db_url: str, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(here=str(HERE)))
    record_runs([], db_url)  # the schema exists before the race; the writers still race on every run
    go, count = time.time() + 1.5, 40
    procs = [subprocess.Popen([sys.executable, str(script), db_url, who, str(count), str(go)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for who in ("alpha", "beta")]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with open_db(db_url) as db:
        per_target = dict(db.query("SELECT t.name, COUNT(*) FROM runs r JOIN targets t ON t.id = r.target_id "
                                   "GROUP BY t.name"))
        per_run = {n for (n,) in db.query("SELECT COUNT(*) FROM results GROUP BY run_id")}
        spans = db.query("SELECT MIN(recorded_at), MAX(recorded_at) FROM runs JOIN targets t ON t.id = target_id "
                         "GROUP BY t.name ORDER BY t.name")
    assert per_target == {"alpha": count, "beta": count}
    assert per_run == {len(CHECKS)}
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1], "the writers did not overlap in time"


def test_processes_creating_a_fresh_database_at_once(db_url: str, tmp_path: Path) -> None:
    url = db_url  # nothing created yet: the writers race to create the schema too
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(here=str(HERE)))
    go, writers = time.time() + 1.5, ("alpha", "beta", "gamma", "delta")
    procs = [subprocess.Popen([sys.executable, str(script), url, who, "5", str(go)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for who in writers]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(writers), outs
    with open_db(url) as db:
        assert db.query("SELECT COUNT(*) FROM runs")[0][0] == 5 * len(writers)
        assert [v for (v,) in db.query("SELECT version FROM schema_version ORDER BY version")] == \
            list(range(1, LATEST + 1))


def _journal(url: str) -> Any:
    with open_db(url) as db:
        return db.query("PRAGMA journal_mode")[0][0]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    record_run(run_doc("2026-11-26T01:00:00Z"), url)
    assert _journal(url) == "wal"
