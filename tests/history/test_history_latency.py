"""Latency in the run history: the trend per edge on constructed series (no clock), recorded runs compared through the
regression view on SQLite and PostgreSQL, the migration of an existing database, retention, and
`edgeverify history --latency`."""

from __future__ import annotations

from typing import Any

import pytest
from history_builder import run_doc

from edgeverify.cli import main
from edgeverify.history import open_db, prune, record_run, record_runs, regression_view, terminal_lines
from edgeverify.history.latency import (MAX_ROWS, MIN_RUNS, REGRESSION_MS, REGRESSION_RATIO, TREND_RUNS, Sample,
                                        describe, samples, trend, warnings)
from edgeverify.history.migrations import LATEST
from edgeverify.history.store import to_epoch

POP = "FRA56-P1"


def sample(ttfb: float, total: float | None = None, *, kind: str = "document", pop: str = POP,
           address: str = "192.0.2.7", hits: float | None = 0.5, requests: int = 10) -> Sample:
    return Sample(pop, address, kind, requests, ttfb_p50_ms=ttfb / 2, ttfb_p95_ms=ttfb, total_p50_ms=None,
                  total_p95_ms=ttfb + 5 if total is None else total, hit_ratio=hits)


def series(*ttfbs: float, **kw: Any) -> list[list[Sample]]:
    """Earlier runs, newest first, one sample each."""
    return [[sample(t, **kw)] for t in ttfbs]


# -- the trend on constructed series ----------------------------------------------------------------------------

def test_todays_p95_doubling_over_a_recorded_series_is_a_regression():
    block = trend([sample(210.0)], series(100, 96, 104, 99, 101, 98, 103))
    (row,) = block["rows"]
    assert (row["edge"], row["kind"], row["runs"]) == (POP, "document", 7)
    assert row["ttfb_median_ms"] == 100.0 and row["ttfb_p95_ms"] == 210.0 and row["ttfb_change_pct"] == 110.0
    assert row["regressed"] == ["ttfb", "total"] and not block["first"]
    (warning,) = warnings(block)
    assert warning.startswith(f"latency regression at edge {POP} (document): TTFB p95 210.0 ms against a median of "
                              "100.0 ms (+110 %)")
    assert "over its last 7 runs, beyond +50 % and +50 ms; advisory" in warning and "latency.budget" in warning
    assert describe(row, block).endswith("median of its last 7 runs -- REGRESSION (TTFB, total)")


def test_a_stable_series_is_no_regression():
    block = trend([sample(112.0)], series(100, 96, 104, 99, 101, 98, 103))
    (row,) = block["rows"]
    assert row["regressed"] == [] and row["ttfb_change_pct"] == 12.0 and warnings(block) == []
    assert "TTFB p95 112.0 ms vs 100.0 ms (+12 %)" in describe(row, block)


def test_a_fast_edge_tripling_by_a_few_milliseconds_is_no_regression():
    # +200 % but only +8 ms: beyond the ratio, not beyond REGRESSION_MS (both are needed)
    block = trend([sample(12.0, 14.0)], series(4, 4, 4, 4, total=6.0))
    assert block["rows"][0]["ttfb_change_pct"] == 200.0 and block["rows"][0]["regressed"] == []
    # and +60 ms on 1000 ms is beyond REGRESSION_MS, not the ratio
    assert trend([sample(1060.0)], series(1000, 1000, 1000))["rows"][0]["regressed"] == []


def test_the_first_run_has_no_trend_yet():
    block = trend([sample(100.0)], [])
    assert block["first"] and block["rows"][0]["runs"] == 0 and block["rows"][0]["ttfb_median_ms"] is None
    assert warnings(block) == []
    assert terminal_lines({"first_run": True, "latency": block}) == [
        "first recorded run of this target: nothing to compare with yet",
        "latency: no trend yet: the first run recording latency for this target (p95 per edge in summary.md)"]


def test_too_few_earlier_runs_show_the_change_but_flag_nothing():
    block = trend([sample(400.0)], series(100, 100))
    (row,) = block["rows"]
    assert row["runs"] == 2 < MIN_RUNS and row["ttfb_change_pct"] == 300.0 and row["regressed"] == []
    assert f"(a regression is flagged from {MIN_RUNS} runs)" in describe(row, block)


def test_a_new_edge_beside_known_ones_says_no_trend_yet():
    block = trend([sample(100.0), sample(90.0, pop="LHR61-C2")], series(100, 100, 100))
    rows = {r["edge"]: r for r in block["rows"]}
    assert rows[POP]["runs"] == 3 and rows["LHR61-C2"]["runs"] == 0 and not block["first"]
    assert describe(rows["LHR61-C2"], block).endswith("no trend yet (no earlier run recorded this edge)")


def test_only_the_last_n_runs_count_and_runs_without_the_edge_are_passed_over():
    old = series(*([300.0] * 20))
    assert trend([sample(100.0)], series(*([100.0] * TREND_RUNS)) + old)["rows"][0]["ttfb_median_ms"] == 100.0
    other = [[sample(999.0, pop="LHR61-C2")]] * 5  # the five newest runs reached another POP only
    block = trend([sample(100.0)], other + series(100, 100, 100))
    assert block["rows"][0]["runs"] == 3 and block["rows"][0]["regressed"] == []


def test_an_edge_is_its_pop_across_addresses_else_its_address():
    today = [sample(80.0, address="192.0.2.7", hits=1.0, requests=3),
             sample(200.0, address="192.0.2.9", hits=0.0, requests=1), sample(50.0, pop="-", address="198.51.100.4")]
    rows = {r["edge"]: r for r in trend(today, [])["rows"]}
    assert set(rows) == {POP, "198.51.100.4"}
    assert rows[POP]["addresses"] == ["192.0.2.7", "192.0.2.9"] and rows[POP]["requests"] == 4
    assert rows[POP]["ttfb_p95_ms"] == 200.0 and rows[POP]["hit_ratio"] == 0.75  # the highest p95; hits by requests


def test_samples_come_from_the_report_block_bounded():
    block = {"edges": [{"pop": POP, "address": "192.0.2.7", "hit_ratio": 0.5, "kinds": {
        "document": {"requests": 4, "ttfb_p50_ms": 20.0, "ttfb_p95_ms": 30.0, "total_p95_ms": 31.0, "hit_ratio": 0.25},
        "asset": {"requests": 6, "ttfb_p95_ms": 9.0},  # a report from before per-kind ratios: the edge's
        "api": {"requests": 2, "ttfb_p95_ms": 50.0}}}]}
    found = {s.kind: s for s in samples(block)}
    assert found["document"] == Sample(POP, "192.0.2.7", "document", 4, 20.0, 30.0, None, 31.0, 0.25)
    assert found["asset"].hit_ratio == 0.5 and found["api"].hit_ratio is None
    many = {"edges": [{"pop": f"P{i}", "address": "a", "kinds": {"asset": {"requests": i + 1}}} for i in range(200)]}
    kept = samples(many)
    assert len(kept) == MAX_ROWS and kept[0].pop == "P199"  # the busiest kept
    assert samples(None) == [] and samples({"edges": [None, {"kinds": {"video": {"requests": 3}}}]}) == []


# -- recorded runs ------------------------------------------------------------------------------------------------

def latency_block(ttfb: float, *, pop: str = POP) -> dict[str, Any]:
    kinds = {"document": {"requests": 5, "ttfb_p50_ms": ttfb * 0.8, "ttfb_p95_ms": ttfb, "total_p50_ms": ttfb,
                          "total_p95_ms": ttfb + 2, "hit_ratio": 0.0},
             "api": {"requests": 3, "ttfb_p50_ms": 20.0, "ttfb_p95_ms": 25.0, "total_p50_ms": 21.0,
                     "total_p95_ms": 26.0}}
    return {"unit": "ms", "percentiles": "nearest rank", "edges": [{"pop": pop, "address": "192.0.2.7",
                                                                     "hit_ratio": 0.0, "kinds": kinds}]}


def timed(started_at: str, ttfb: float | None) -> dict[str, Any]:
    doc = run_doc(started_at)
    doc["latency"] = None if ttfb is None else latency_block(ttfb)
    return doc


DAYS = [f"2026-11-{d:02d}T01:00:00Z" for d in range(10, 30)]
OLD_RUN = to_epoch("2026-11-01T01:00:00Z")


def test_recorded_runs_give_the_regression_view_its_latency_trend(db_url: str):
    record_runs([timed(DAYS[0], 100), timed(DAYS[1], 104), timed(DAYS[2], None), timed(DAYS[3], 96)], db_url)
    view = regression_view(timed(DAYS[4], 230), db_url)
    rows = {r["kind"]: r for r in view["latency"]["rows"]}
    assert rows["document"]["runs"] == 3 and rows["document"]["ttfb_median_ms"] == 100.0  # the run without latency
    assert rows["document"]["regressed"] == ["ttfb", "total"] and rows["api"]["regressed"] == []  # is passed over
    assert [line for line in terminal_lines(view) if line.startswith("latency")][0].startswith(
        f"latency p95 {POP} document: TTFB p95 230.0 ms vs 100.0 ms (+130 %)")
    assert regression_view(timed(DAYS[4], 101), db_url)["latency"]["rows"][0]["regressed"] == []
    assert regression_view(timed(DAYS[4], None), db_url)["latency"] is None  # the run measured nothing
    with open_db(db_url) as db:
        assert db.query("SELECT COUNT(*) FROM latency")[0][0] == 6  # 3 runs x (document, api)


def test_the_first_recorded_run_says_no_trend_yet(db_url: str):
    view = regression_view(timed(DAYS[0], 100), db_url)
    assert view["first_run"] and view["latency"]["first"]
    record_run(timed(DAYS[0], 100), db_url, clock=lambda: to_epoch(DAYS[0]))
    assert not regression_view(timed(DAYS[1], 100), db_url)["latency"]["first"]


def test_an_existing_database_is_migrated_and_its_runs_kept(db_url: str):
    with open_db(db_url, upto=3) as db:  # a database written before latency was kept (migration 4)
        def old_run(d: Any) -> None:
            d.execute("INSERT INTO targets (name, domain) VALUES (?, ?)", ("site", "www.example.test"))
            d.execute("INSERT INTO runs (target_id, started_at, failures, recorded_at) VALUES "
                      "((SELECT id FROM targets), ?, 0, ?)", (OLD_RUN, OLD_RUN))
        db.write(old_run)
    with open_db(db_url, migrate=False) as db:
        assert db.schema_version() == 3
        with pytest.raises(Exception):
            db.query("SELECT COUNT(*) FROM latency")
    view = regression_view(timed(DAYS[0], 100), db_url)  # opening migrates
    assert not view["first_run"] and view["latency"]["first"]  # a run before, none with latency
    record_run(timed(DAYS[0], 100), db_url, clock=lambda: to_epoch(DAYS[0]))
    with open_db(db_url, migrate=False) as db:
        assert db.schema_version() == LATEST
        assert db.query("SELECT COUNT(*) FROM runs")[0][0] == 2
        assert db.query("SELECT kind, requests, ttfb_p95_ms FROM latency ORDER BY kind") == [
            ("api", 3, 25.0), ("document", 5, 100.0)]


def test_retention_deletes_the_latency_rows_with_their_runs(db_url: str):
    record_runs([timed(day, 100 + i) for i, day in enumerate(DAYS[:6])], db_url)
    with open_db(db_url) as db:
        assert db.query("SELECT COUNT(*) FROM latency")[0][0] == 12
    assert prune(db_url, keep_days=None, keep_runs=2, max_bytes=None).runs_deleted == 4
    with open_db(db_url) as db:
        kept = db.query("SELECT r.started_at, l.ttfb_p95_ms FROM latency l JOIN runs r ON r.id = l.run_id "
                        "WHERE l.kind = 'document' ORDER BY r.started_at")
        assert [t for _, t in kept] == [104.0, 105.0]
        assert db.query("SELECT COUNT(*) FROM latency")[0][0] == 4
        assert db.query("SELECT COUNT(*) FROM latency WHERE run_id NOT IN (SELECT id FROM runs)")[0][0] == 0
    assert prune(db_url, keep_days=1, keep_runs=None, max_bytes=None, clock=lambda: 2.0e9).runs_deleted == 2
    with open_db(db_url) as db:
        assert db.query("SELECT COUNT(*) FROM latency")[0][0] == 0


def test_history_latency_shows_the_trend_per_edge(db_url: str, capsys: pytest.CaptureFixture[str]):
    record_runs([timed(DAYS[i], t) for i, t in enumerate((100, 104, 96, 102, 250))] + [run_doc(DAYS[5])], db_url)
    assert main(["history", "--db", db_url, "--latency", "--since", "2026-11-01"]) == 0
    out = capsys.readouterr().out
    assert f"+{(REGRESSION_RATIO - 1) * 100:.0f} % and +{REGRESSION_MS:g} ms" in out
    lines = out.splitlines()
    assert "site (www.example.test): latency per edge (p95 of each run; median and worst of the week's runs)" in lines
    week = next(line for line in lines if f"{POP}  document  2026-W46" in line)
    assert week.split()[3:6] == ["5", "102.0", "250.0"]  # runs, median p95, worst p95
    assert any(line.strip().startswith(f"{POP} document: TTFB p95 250.0 ms vs 101.0 ms (+148 %)")
               and line.endswith("REGRESSION (TTFB, total)") for line in lines), out
    assert main(["history", "--db", db_url, "--latency", "--target", "sitte", "--since", "2026-11-01"]) == 4
    assert "Did you mean 'site'?" in capsys.readouterr().err


def test_many_regressions_are_counted_beyond_a_few_warnings():
    today = [sample(500.0, pop=f"POP{i}") for i in range(9)]
    earlier = [[sample(100.0, pop=f"POP{i}") for i in range(9)]] * 3
    found = warnings(trend(today, earlier))
    assert len(found) == 6 and found[-1] == ("and 4 more latency regressions at other edges and kinds (the latency "
                                             "trend in summary.md)")
