"""`edgeverify history`: the weekly table of pass rates and convergence percentiles, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from history_builder import FAULT_A, run_doc

from edgeverify.cli import main
from edgeverify.history import record_runs
from edgeverify.history.cli import main as history_main
from edgeverify.history.store import to_epoch
from edgeverify.history.trends import percentile

SPA = "spa.deep_link[/settings]"


@pytest.fixture
def filled(db_url: str) -> str:
    # ISO week 47 of 2026: 17th-20th (fault A on the 18th; deep link converging after 1-4 s); week 48: 23rd, 24th.
    docs = [run_doc(f"2026-11-{d}T01:00:00Z", [FAULT_A] if d == 18 else [], converged={SPA: w})
            for d, w in ((17, 1.0), (18, 2.0), (19, 3.0), (20, 4.0))]
    docs += [run_doc(f"2026-11-{d}T01:00:00Z", served_after_s=None) for d in (23, 24)]
    docs += [run_doc("2026-11-24T02:00:00Z", [FAULT_A], target_name="other", domain="staging.example.test")]
    record_runs(docs, db_url)
    return db_url


def table_lines(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line.startswith("  2026-W")]


def test_weekly_pass_rates_and_convergence_percentiles(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", filled, "--target", "site", "--since", "2026-11-01"]) == 0
    out = capsys.readouterr().out
    assert "site (www.example.test): 6 runs, 2026-11-17 to 2026-11-24" in out and "staging" not in out
    rows = {(r[0], r[1]): r[2:] for r in table_lines(out)}
    assert rows[("2026-W47", "(runs)")] == ["4", "75.0%", "2.5", "3.7"]  # run convergence 1.5, 2, 3, 4
    assert rows[("2026-W47", "cache.immutable_assets")] == ["4", "75.0%", "-", "-"]
    assert rows[("2026-W47", "spa.deep_link")] == ["4", "100.0%", "2.5", "3.7"]
    assert rows[("2026-W47", "static.served")] == ["4", "100.0%", "-", "-"]  # two checks per run, all passed
    assert rows[("2026-W48", "(runs)")] == ["2", "100.0%", "-", "-"]
    assert rows[("2026-W48", "cache.immutable_assets")] == ["2", "100.0%", "-", "-"]
    assert len(rows) == 16  # (runs) + 7 rules, two weeks


def test_every_target_by_default_and_by_domain(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", filled, "--since", "2026-11-24"]) == 0
    out = capsys.readouterr().out
    assert "other (staging.example.test): 1 run, 2026-11-24 to 2026-11-24" in out
    assert "site (www.example.test): 1 run" in out
    assert main(["history", "--db", filled, "--target", "staging.example.test", "--since", "2026-11-01"]) == 0
    out = capsys.readouterr().out
    assert "site (" not in out and ["2026-W48", "cache.immutable_assets", "1", "0.0%", "-", "-"] in table_lines(out)


def test_weeks_counts_back_from_now(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    now = to_epoch("2026-11-24T12:00:00Z")
    assert history_main(["--db", filled, "--target", "site", "--weeks", "1"], clock=lambda: now) == 0
    out = capsys.readouterr().out
    assert "since 2026-11-17." in out and "site (www.example.test): 5 runs, 2026-11-18 to 2026-11-24" in out


def test_bad_input_exits_4_with_one_line(filled: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", filled, "--target", "sitee"]) == 4
    assert "no target named 'sitee'. Did you mean 'site'?" in capsys.readouterr().err
    assert main(["history", "--db", filled, "--since", "last week"]) == 4
    assert "--since 'last week' is not an ISO 8601 time" in capsys.readouterr().err
    assert main(["history", "--db", str(tmp_path / "none.sqlite")]) == 4
    assert f"no run history at {tmp_path / 'none.sqlite'}" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()
    assert main(["history", "--db", filled, "--weeks", "0"]) == 4


def test_no_runs_in_the_period(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", filled, "--since", "2030-01-01"]) == 0
    assert "No runs since 2030-01-01" in capsys.readouterr().out


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == pytest.approx(3.7)
    assert percentile([5.0], 90) == 5.0 and percentile([], 50) is None


def test_a_known_issues_file_is_checked_and_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "known.yaml"
    path.write_text("known_issues:\n  - rule: api.call\n    reason: moved\n    owner: api\n    expires: 2026-11-23\n"
                    "  - rule: https.hsts\n    item: 'https.hsts[/]'\n    reason: r\n    owner: o\n"
                    "    expires: 2027-01-01\n")
    assert history_main(["--known-issues", str(path)], clock=lambda: to_epoch("2026-11-24T00:00:00Z")) == 0
    out = capsys.readouterr().out
    assert "line 2: api.call *: accepted until 2026-11-23, expired (moved; owner api)" in out
    assert "line 6: https.hsts https.hsts[/]: accepted until 2027-01-01 (r; owner o)" in out
    path.write_text("known_issues:\n  - rule: api.call\n    owne: x\n")
    assert main(["history", "--known-issues", str(path)]) == 4
    assert "line 3, key 'known_issues[0].owne': unknown key 'owne'. Did you mean 'owner'?" in capsys.readouterr().err


def test_the_default_history_is_next_to_the_reports_and_its_path_is_printed_clean(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEVERIFY_HISTORY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert history_main(["--reports-dir", "out"]) == 4
    err = capsys.readouterr().err
    assert f"no run history at {tmp_path / 'out' / 'history.sqlite'} " in err and "//" not in err
