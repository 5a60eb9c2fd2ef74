"""The store: URLs, versioned schema with ordered migrations, clear errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from history_builder import FAULT_A, run_doc

from edgeverify.history import HistoryError, history_url, open_db, record_run, regression_view
from edgeverify.history.migrations import LATEST, MIGRATIONS
from edgeverify.history.store import describe_url, to_epoch, to_iso


def test_an_old_database_is_migrated_in_order_and_keeps_its_runs(db_url: str) -> None:
    with open_db(db_url, upto=1) as db:
        assert db.schema_version() == 1
    with open_db(db_url, migrate=False) as db:
        assert db.schema_version() == 1
        index_names = ("runs_by_target", "results_by_item")
        if db.dialect == "sqlite":
            found = db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (?, ?)", index_names)
        else:
            found = db.query("SELECT indexname FROM pg_indexes WHERE indexname IN (?, ?)", index_names)
        assert found == []
    doc = run_doc("2026-11-21T01:00:00Z", [FAULT_A])
    record_run(doc, db_url)  # opening migrates to the latest
    with open_db(db_url, migrate=False) as db:
        assert db.schema_version() == LATEST
        assert [r[0] for r in db.query("SELECT version FROM schema_version ORDER BY version")] == \
            [v for v, _, _ in MIGRATIONS]
        if db.dialect == "sqlite":
            found = db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (?, ?)", index_names)
        else:
            found = db.query("SELECT indexname FROM pg_indexes WHERE indexname IN (?, ?)", index_names)
        assert sorted(f[0] for f in found) == sorted(index_names)
    assert regression_view(run_doc("2026-11-22T01:00:00Z", [FAULT_A]), db_url)["ongoing"] == [
        {"id": FAULT_A, "first_seen": "2026-11-21T01:00:00Z"}]


def test_data_written_at_version_1_survives_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    with open_db(url, upto=1) as db:
        db.write(lambda d: d.execute("INSERT INTO targets (name, domain) VALUES (?, ?)", ("site", "www.example.test")))
    with open_db(url) as db:
        assert db.schema_version() == LATEST
        assert db.query("SELECT name, domain FROM targets") == [("site", "www.example.test")]


def test_a_database_newer_than_the_code_is_refused(db_url: str) -> None:
    with open_db(db_url) as db:
        db.write(lambda d: d.execute("INSERT INTO schema_version (version, description, applied_at) "
                                     "VALUES (?, ?, ?)", (LATEST + 1, "from the future", "2030-01-01T00:00:00Z")))
    with pytest.raises(HistoryError, match=f"schema version {LATEST + 1}, newer than this edgeverify knows"):
        record_run(run_doc("2026-11-21T01:00:00Z"), db_url)


def test_unknown_url_kinds_and_unopenable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"mysql://h/db: unknown kind; write sqlite:///PATH"):
        record_run(run_doc("2026-11-21T01:00:00Z"), "mysql://h/db")
    (tmp_path / "file").write_text("x")
    with pytest.raises(HistoryError, match="cannot open"):
        record_run(run_doc("2026-11-21T01:00:00Z"), f"sqlite:///{tmp_path / 'file' / 'h.sqlite'}")


def test_an_unreachable_postgresql_is_a_clear_error_without_the_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(HistoryError, match="cannot connect") as info:
        record_run(run_doc("2026-11-21T01:00:00Z"), f"postgresql://ev:hunter2pass@127.0.0.1:{port}/h")
    assert "hunter2pass" not in str(info.value) and "ev:***@127.0.0.1" in str(info.value)


def test_default_url_option_then_environment_then_reports_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEVERIFY_HISTORY", raising=False)
    assert history_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve() / 'history.sqlite'}"
    monkeypatch.setenv("EDGEVERIFY_HISTORY", "postgresql://ci@db/h")
    assert history_url(None, tmp_path) == "postgresql://ci@db/h"
    assert history_url("sqlite:///x.sqlite", tmp_path) == "sqlite:///x.sqlite"


def test_plain_paths_are_sqlite_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "h.sqlite"
    record_run(run_doc("2026-11-21T01:00:00Z"), str(path))
    assert path.is_file()


def test_times_round_trip() -> None:
    assert to_iso(to_epoch("2026-11-26T01:00:00Z")) == "2026-11-26T01:00:00Z"
    assert to_iso(to_epoch("2026-11-26T01:00:00.250Z")) == "2026-11-26T01:00:00.250Z"
    assert to_epoch("2026-11-26T02:00:00+01:00") == to_epoch("2026-11-26T01:00:00Z")
    assert describe_url("postgresql://u:p@h:5/d") == "postgresql://u:***@h:5/d"
    assert describe_url("sqlite:///a/b") == "sqlite:///a/b"
