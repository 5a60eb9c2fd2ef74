"""`edgeverify history` shows each week's lowest security grade, recorded from the reports' `security` block."""

from __future__ import annotations

import pytest
from history_builder import run_doc

from edgeverify.cli import main
from edgeverify.history import record_runs


def graded(started_at: str, score: int, grade: str) -> dict:
    doc = run_doc(started_at)
    doc["security"] = {"score": score, "grade": grade, "tests": []}
    return doc


def test_weekly_lowest_grade(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    record_runs([graded("2026-11-17T01:00:00Z", 135, "A+"), graded("2026-11-18T01:00:00Z", 55, "C"),
                 graded("2026-11-24T01:00:00Z", 125, "A+"), run_doc("2026-11-25T01:00:00Z")], db_url)
    assert main(["history", "--db", db_url, "--target", "site", "--since", "2026-11-01"]) == 0
    out = capsys.readouterr().out
    assert "  2026-W47  (security grade): lowest C (55)" in out
    assert "  2026-W48  (security grade): lowest A+ (125)" in out  # the ungraded run is left out
