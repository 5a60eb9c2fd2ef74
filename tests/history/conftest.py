"""History tests run against SQLite and against a real PostgreSQL server (Debian's binaries) started here."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a loopback port, for this test session; its base URL."""
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries missing in CI (.ci/install installs Debian's postgresql).")
        pytest.skip("PostgreSQL server binaries absent (apt-get install postgresql).")
    base = Path(tempfile.mkdtemp(prefix="edgeverify-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(base, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    try:
        subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "edgeverify",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        for _ in range(3):  # the free port found may be taken before the server binds it
            port = _free_port()
            start = subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"),
                                    "-w", "-t", "60", "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {base} "
                                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start"],
                                   capture_output=True, text=True, timeout=90)
            if start.returncode == 0:
                break
        else:
            log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
            pytest.fail(f"PostgreSQL did not start: {start.stdout}{start.stderr}{log[-2000:]}")
        yield f"postgresql://edgeverify@127.0.0.1:{port}"
    finally:
        if data.exists():
            subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"],
                           capture_output=True, timeout=90)
        shutil.rmtree(base, ignore_errors=True)


def _pg_database(server: str) -> Iterator[str]:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=10) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=10) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty history database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.sqlite'}"
        return
    yield from _pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    yield from _pg_database(pg_server)
