"""The latency trend in every output: runs compared and recorded (history.compare_and_record) put the trend in the
RunResult's history block and a regression in its warnings; the JSON report (schema-valid, read back), Markdown,
terminal and HTML all show it from there. Constructed results, no socket, no clock."""

import json
from pathlib import Path

import jsonschema

from edgeverify.history import compare_and_record
from edgeverify.html import render_run
from edgeverify.model import CheckResult, ExitCode, Outcome, RunResult
from edgeverify.reports import from_json, markdown, report_schema, terminal, to_json

HOST = "www.example.test"
POP = "LAB50-C1"
DAY = 86400.0


def run_at(day: int, ttfb_p95: float) -> RunResult:
    kinds = {"document": {"requests": 10, "ttfb_p50_ms": ttfb_p95 / 2, "ttfb_p95_ms": ttfb_p95,
                          "total_p50_ms": ttfb_p95 / 2 + 1, "total_p95_ms": ttfb_p95 + 1, "hit_ratio": 0.0},
             "asset": {"requests": 6, "ttfb_p50_ms": 3.0, "ttfb_p95_ms": 4.0, "total_p50_ms": 4.0,
                       "total_p95_ms": 5.0, "hit_ratio": 1.0}}
    check = CheckResult(id="suites/test_latency.py::test_every_kind_answers_within_its_budget", outcome=Outcome.PASSED,
                        rule="latency.budget", suite="latency", severity="advisory")
    started = 1.79e9 + day * DAY
    return RunResult(domain=HOST, target="targets/lab.yaml", target_name="lab", tool="edgeverify",
                     started_at=started, finished_at=started + 2, checks=(check,),
                     latency={"unit": "ms", "percentiles": "nearest rank", "edges": [
                         {"pop": POP, "address": "127.0.0.1", "requests": 16, "hit_ratio": 0.375, "kinds": kinds}]})


def recorded(tmp_path: Path, ttfbs: list[float]) -> list[RunResult]:
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    return [compare_and_record(run_at(day, ttfb), url, tmp_path) for day, ttfb in enumerate(ttfbs)]


def test_a_regression_is_in_the_result_and_every_output(tmp_path):
    *_, run = recorded(tmp_path, [100.0, 104.0, 96.0, 250.0])
    assert run.history_error is None and run.exit_status is ExitCode.OK  # a warning fails nothing
    trend = run.history["latency"]
    assert [(r["kind"], r["regressed"]) for r in trend["rows"]] == [("document", ["ttfb", "total"]), ("asset", [])]
    (warning,) = run.warnings
    assert warning.startswith(f"latency regression at edge {POP} (document): TTFB p95 250.0 ms against a median of "
                              "100.0 ms (+150 %)")

    doc = json.loads(json.dumps(to_json(run)))
    jsonschema.validate(doc, report_schema())
    back = from_json(doc)
    assert back.history == run.history and back.warnings == run.warnings
    assert markdown(back) == markdown(run) and terminal(back) == terminal(run)  # the round trip keeps the trend

    text = markdown(run)
    assert "### Latency trend" in text and f"> **Warning:** {warning}" in text
    assert f"| {POP} | document | 250.0 | 100.0 | +150 % | 251.0 | 101.0 | +148 % | 0% (0%) | 3 | ⚠️ regression |" in text
    lines = terminal(run)
    assert f"edgeverify: WARNING: {warning}" in lines
    assert (f"edgeverify: history: latency p95 {POP} document: TTFB p95 250.0 ms vs 100.0 ms (+150 %), total p95 "
            "251.0 ms vs 101.0 ms (+148 %), cache hits 0% vs 0%; median of its last 3 runs -- REGRESSION (TTFB, total)"
            ) in lines

    html = render_run(doc)
    assert 'id="latency"' in html and 'id="latency-trend"' in html and "Latency trend (1 regression)" in html
    assert html.count('class="latency-trend-row regressed"') == 1 and html.count('class="latency-trend-row"') == 1
    assert "<strong>+150 %</strong>" in html and 'class="warn run-warning"' in html
    assert f'<td class="mono">{POP} 127.0.0.1</td><td>document</td>' in html  # the per-edge table


def test_a_stable_run_shows_the_trend_without_a_warning(tmp_path):
    *_, run = recorded(tmp_path, [100.0, 104.0, 96.0, 110.0])
    assert run.warnings == () and all(not r["regressed"] for r in run.history["latency"]["rows"])
    # the steady case is one terminal line naming the largest rise; the per-edge lines are for regressions
    assert f"edgeverify: history: latency: p95 of 2 edge and kind pair(s) within the trend, the largest rise {POP} " \
           "document +10 % (median of up to 7 runs; the table in summary.md)" in terminal(run)
    assert not any(line.startswith("edgeverify: history: latency p95 ") for line in terminal(run))
    assert "⚠️ regression" not in markdown(run) and "regressed" not in render_run(to_json(run))


def test_the_first_run_says_there_is_no_trend_yet(tmp_path):
    (run,) = recorded(tmp_path, [100.0])
    assert run.history["latency"]["first"] and run.warnings == ()
    assert ("edgeverify: history: latency: no trend yet: the first run recording latency for this target (p95 per "
            "edge in summary.md)") in terminal(run)
    assert "No trend yet: this is the first run recording latency for this target." in markdown(run)
    html = render_run(json.loads(json.dumps(to_json(run))))
    assert 'id="latency-no-trend"' in html


def test_without_history_no_trend_and_the_per_edge_table_alone(tmp_path):
    run = run_at(0, 100.0)
    html = render_run(to_json(run))
    assert 'id="latency"' in html and 'id="latency-trend"' not in html
    assert "Latency trend" not in markdown(run) and not any("latency p95" in line for line in terminal(run))
    # each kind's own cache-hit ratio (the edge's, documents and assets together, is 38 %)
    assert f"| {POP} 127.0.0.1 | asset | 6 | 3.0 / 4.0 | 4.0 / 5.0 | - | 100% |" in markdown(run)
    assert f"| {POP} 127.0.0.1 | document | 10 | 50.0 / 100.0 | 51.0 / 101.0 | - | 0% |" in markdown(run)
