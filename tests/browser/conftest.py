"""Prints the browser-agreement table (written by test_browser_agreement.py) at the end of the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TABLE = Path(__file__).resolve().parents[2] / "reports" / "browser-agreement.md"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        TABLE.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if TABLE.exists():
        terminalreporter.section("browser agreement (headless Chromium vs the suites)")
        terminalreporter.write(TABLE.read_text())
