"""Prints the diagnose corpus score (written by test_diagnose_corpus.py) at the end of the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SCORE = Path(__file__).resolve().parents[2] / "reports" / "diagnose-corpus.txt"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        SCORE.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if SCORE.exists():
        terminalreporter.section("diagnose corpus score (tests/data/corpus)")
        terminalreporter.write(SCORE.read_text())
