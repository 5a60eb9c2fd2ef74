"""Where run history lives: one SQLite file (default) or a PostgreSQL database, behind one small interface.

SQLite runs in WAL mode with a busy timeout; every write is one transaction (BEGIN IMMEDIATE), retried
while another process holds the lock, so xdist workers and parallel CI jobs can share one file.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..timefmt import epoch, iso
from .errors import HistoryError
from .migrations import LATEST, MIGRATIONS, statements

T = TypeVar("T")
Clock = Callable[[], float]
ENV = "EDGEVERIFY_HISTORY"
DEFAULT_FILE = "history.sqlite"
BUSY_TIMEOUT_S = 30.0  # one wait for another writer's lock
WRITE_DEADLINE_S = 120.0  # all retries of one transaction
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 120_000


def history_url(option: str | None = None, reports_dir: str | os.PathLike[str] = "reports") -> str:
    """The database to use: the option, else $EDGEVERIFY_HISTORY, else sqlite:///<reports_dir>/history.sqlite."""
    chosen = option or os.environ.get(ENV)
    if chosen:
        return chosen
    return "sqlite:///" + str(Path(reports_dir).resolve() / DEFAULT_FILE)


def describe_url(url: str) -> str:
    """The URL without a password, safe to print."""
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        creds, host = rest.split("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}{':***' if ':' in creds else ''}@{host}"
    return url


def to_epoch(value: str, what: str = "time") -> float:
    """An ISO 8601 time ('2026-11-26T01:00:00Z', or a date) as seconds since the epoch, UTC."""
    try:
        return epoch(value)
    except (ValueError, AttributeError):
        raise HistoryError(f"{what} '{value}' is not an ISO 8601 time (write 2026-11-26T01:00:00Z).") from None


to_iso = iso  # '2026-11-26T01:00:00Z', milliseconds shown only when not whole (timefmt.iso)


class Database:
    """One open connection to the history database, SQLite or PostgreSQL; SQL is written with `?` marks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.shown = describe_url(url)
        self.path: Path | None = None
        self._conn: Any
        if url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
            self._conn = _connect_postgresql(url, self.shown)
        elif url.startswith("sqlite://") or "://" not in url:
            self.dialect = "sqlite"
            self.path = Path(url.removeprefix("sqlite://"))
            self._conn = _connect_sqlite(self.path, self.shown)
        else:
            raise HistoryError(f"History database {self.shown}: unknown kind; write sqlite:///PATH or "
                               "postgresql://USER@HOST:PORT/DB.")

    def close(self) -> None:
        self._conn.close()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one SELECT (or statement with RETURNING)."""
        cur = self._conn.execute(self._sql(sql), tuple(params))
        return list(cur.fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        cur = self._conn.execute(self._sql(sql), tuple(params))
        return int(cur.rowcount or 0)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many rows (a batch insert)."""
        if not rows:
            return
        if self.dialect == "postgresql":
            with self._conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            self._conn.executemany(sql, rows)

    def write(self, work: Callable[[Database], T]) -> T:
        """Run `work` in one write transaction, retried (with jittered backoff) while others hold the lock."""
        deadline = time.monotonic() + WRITE_DEADLINE_S
        delay = 0.05
        while True:
            try:
                with self._transaction():
                    return work(self)
            except Exception as exc:  # only lock contention is retried; the rest is re-raised
                if not _contention(exc) or time.monotonic() + delay > deadline:
                    if _contention(exc):
                        raise HistoryError(f"History database {self.shown}: still locked by another writer "
                                           f"after {WRITE_DEADLINE_S:.0f} s ({exc}).") from None
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self.dialect == "postgresql":
            with self._conn.transaction():
                yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def schema_version(self) -> int:
        """The last migration applied (0 for an empty database)."""
        if self.dialect == "sqlite":
            exists = bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"))
        else:
            exists = self.query("SELECT to_regclass('schema_version')")[0][0] is not None
        if not exists:
            return 0
        return int(self.query("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0][0])

    def migrate(self, upto: int = LATEST) -> int:
        """Apply the missing migrations in order, in one transaction; the version reached."""
        current = self.schema_version()
        if current > LATEST:
            raise HistoryError(f"History database {self.shown} has schema version {current}, newer than this "
                               f"edgeverify knows ({LATEST}); upgrade edgeverify or point --history elsewhere.")
        if current >= upto:
            return current

        def apply(db: Database) -> int:
            if db.dialect == "postgresql":
                db.execute("SELECT pg_advisory_xact_lock(7205)")  # one migrator at a time
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                       "description TEXT NOT NULL, applied_at TEXT NOT NULL)")
            now = db.schema_version()
            described = {v: d for v, d, _ in MIGRATIONS}
            for version, stmts in statements(db.dialect, upto, now):
                for stmt in stmts:
                    db.execute(stmt)
                db.execute("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                           (version, described[version], to_iso(time.time())))
            return max(now, upto)

        return self.write(apply)

    def size_bytes(self) -> int:
        """Bytes the database takes: the SQLite file and its WAL, or PostgreSQL's tables and indexes."""
        if self.dialect == "sqlite":
            assert self.path is not None
            return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return int(self.query("SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                              "JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE c.relkind = 'r' AND n.nspname = current_schema()")[0][0])

    def used_bytes(self) -> int:
        """Bytes holding live data (SQLite: pages not on the free list); what VACUUM would shrink the file to."""
        if self.dialect == "sqlite":
            pages = self.query("PRAGMA page_count")[0][0] - self.query("PRAGMA freelist_count")[0][0]
            return int(pages * self.query("PRAGMA page_size")[0][0])
        return self.size_bytes()

    def compact(self) -> None:
        """Give free space back (SQLite VACUUM and WAL truncation; PostgreSQL plain VACUUM)."""
        if self.dialect == "sqlite":
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            for table in ("results", "latency", "runs", "items", "targets", "entries"):
                self._conn.execute(f"VACUUM {table}")


@contextmanager
def open_db(url: str, *, migrate: bool = True, upto: int = LATEST) -> Iterator[Database]:
    """An open, migrated history database; closed on leaving the block."""
    db = Database(url)
    try:
        if migrate:
            db.migrate(upto)
        yield db
    finally:
        db.close()


def _connect_sqlite(path: Path, shown: str) -> sqlite3.Connection:
    deadline = time.monotonic() + WRITE_DEADLINE_S
    delay = 0.05
    while True:
        conn = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            # Switching a new file to WAL takes an exclusive lock without waiting on the busy handler: retried.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        except (OSError, sqlite3.Error) as exc:
            if conn is not None:
                conn.close()
            if not _contention(exc) or time.monotonic() + delay > deadline:
                raise HistoryError(f"History database {shown}: cannot open ({exc}).") from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)


def _connect_postgresql(url: str, shown: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise HistoryError(f"History database {shown}: PostgreSQL needs psycopg "
                           "(pip install 'edgeverify[postgres]').") from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
    except psycopg.Error as exc:
        raise HistoryError(f"History database {shown}: cannot connect ({str(exc).strip()}).") from None


def _contention(exc: BaseException) -> bool:
    """Another writer holds the lock (SQLite busy/locked; PostgreSQL deadlock or serialization failure)."""
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc) or "busy" in str(exc)
    return getattr(exc, "sqlstate", None) in ("40001", "40P01", "55P03")
