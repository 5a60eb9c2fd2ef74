"""The run report page: what it shows for a failing run, escaping, no external fetches, the pictures."""

from __future__ import annotations

import re

import pytest

from edgeverify.html import _nice_max, hbars, render_run, write_run_html

from report_dom import external_references, parse


def _norm(text: str | None) -> str:
    return " ".join(str(text or "").split())


def test_every_failure_is_shown_with_expected_actual_cause_and_curl(failing_doc):
    page = parse(render_run(failing_doc))
    failed = [c for c in failing_doc["checks"] if c["outcome"] == "failed"]
    articles = {a.attrs["data-check"]: a for a in page.find("article", "check") if "failed" in a.classes}
    assert set(articles) == {c["id"] for c in failed}
    for check in failed:
        art = articles[check["id"]]
        assert art.attrs["data-rule"] == check["rule"]
        assert art.find("dd", "expected")[0].text == _norm(check["expected"])
        assert art.find("dd", "actual")[0].text == _norm(check["actual"])
        assert art.find("dd", "cause")[0].text == _norm(check["cause"])
        assert art.find("pre", "curl")[0].text == _norm(check["reproduce"])
        exchanges = art.find("details", "exchange")
        assert [x.attrs["data-exchange"] for x in exchanges] == check["exchanges"]
    header = page.find("header", "top")[0]
    assert header.attrs["data-verdict"] == "failed" and failing_doc["domain"] in header.text


def test_a_suite_row_per_suite_with_its_verdict(failing_doc):
    rows = {r.attrs["data-suite"]: r.attrs["data-verdict"] for r in parse(render_run(failing_doc)).find("tr", "suite-row")}
    expected = {}
    for name, c in failing_doc["suites"].items():
        expected[name] = ("failed" if c["failed"] else "error" if c["could_not_judge"] or c["interrupted"]
                          else "passed" if c["passed"] else "advisory" if c["advisory"] or c["accepted"]
                          else "skipped")
    assert rows == expected and rows["https"] == "failed" and rows["config"] == "skipped"


def test_advisories_and_skipped_have_their_own_sections(failing_doc):
    page = parse(render_run(failing_doc))
    advisory = page.find("section", id="advisories")[0]
    assert [a.attrs["data-rule"] for a in advisory.find("article", "check")] == ["static.leaky_headers"]
    skipped = page.find("section", id="skipped")[0]
    rows = skipped.find("details")[0].find("tr")[1:]
    reasons = {c["id"]: _norm(c["message"]) for c in failing_doc["checks"] if c["outcome"] == "skipped"}
    assert {r.find("td")[0].text: r.find("td")[1].text for r in rows} == reasons


def test_a_passing_run_says_so():
    from report_docs import make_doc

    page = parse(render_run(make_doc(passing=True, history=False, edges=False)))
    assert page.find("header", "top")[0].attrs["data-verdict"] == "passed"
    assert page.find("p", id="no-failures") and not page.find("section", id="regressions")
    assert not page.find("section", id="edges") and not page.find("section", id="trends")


def test_tls_off_is_announced_only_when_verification_was_off(failing_doc):
    assert not parse(render_run(failing_doc)).find("div", id="tls-off")
    failing_doc["tls_verification"] = False
    warning = parse(render_run(failing_doc)).find("div", id="tls-off")
    assert warning and "OFF" in warning[0].text


def test_text_from_the_edge_is_escaped(failing_doc):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    check = next(c for c in failing_doc["checks"] if c["outcome"] == "failed")
    check["actual"] = check["expected"] = check["cause"] = evil
    failing_doc["domain"] = evil
    xid = check["exchanges"][0]
    failing_doc["exchanges"][xid]["headers"].append(["X-Evil", evil])
    failing_doc["exchanges"][xid]["body_excerpt"] = evil
    failing_doc["history"]["accepted"][0]["reason"] = evil
    html = render_run(failing_doc)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("<script>") == 1  # the page's own (copy buttons, open details when printing)
    page = parse(html)
    assert page.find("dd", "actual")[0].text == _norm(evil)  # shown as text, not run
    assert _norm(evil) in page.find("header", "top")[0].text


def test_the_page_fetches_nothing(failing_doc):
    html = render_run(failing_doc)
    assert external_references(html) == []
    assert not re.search(r"<(?:link|img|iframe|object|embed|audio|video|source)\b", html)
    # the detector itself finds each way a page could fetch
    for bad in ('<img src="https://cdn.example/x.png">', "<link rel=stylesheet href=//cdn.example/a.css>",
                "<style>body{background:url('http://x/y.png')}</style>", "<style>@import 'x.css';</style>",
                '<script src="https://cdn.jsdelivr.net/npm/x"></script>'):
        assert external_references(html.replace("</body>", bad + "</body>")), bad


def test_history_regressions_flaky_strips_and_accepted(failing_doc):
    hist = failing_doc["history"]
    page = parse(render_run(failing_doc))
    for key, section in (("new_since_last", "new-since-last"), ("new_since_last_pass", "new-since-pass"),
                         ("recovered", "recovered")):
        items = [li.text for li in page.find("div", id=section)[0].find("li")]
        assert items == hist[key]
    ongoing = [li.text for li in page.find("div", id="ongoing")[0].find("li")]
    assert ongoing == [f"{o['id']} — first seen {o['first_seen']}" for o in hist["ongoing"]]
    strips = page.find("svg", "strip")
    assert len(strips) == len(hist["flaky"])
    classes = {"P": "passed", "F": "failed", "E": "error", "S": "skipped", "I": "error"}
    for strip, flaky in zip(strips, hist["flaky"]):
        assert [next(iter(r.classes)) for r in strip.find("rect")] == [classes[ch] for ch in flaky["strip"]]
    accepted = page.find("table", "accepted")[0]
    assert "platform-team" in accepted.text and "2026-12-31" in accepted.text and "expired" not in accepted.text
    marks = [m.text for m in page.find("article", data_check="cors.refuses_foreign")[0].find("span", "mark")]
    assert "flaky" in marks and "accepted until 2026-12-31" in marks
    failing_doc["history"]["accepted"][0]["expired"] = True
    page = parse(render_run(failing_doc))
    assert "expired" in page.find("table", "accepted")[0].text


def test_trend_pictures_have_a_column_per_run(failing_doc):
    trend = failing_doc["history"]["trend"]
    section = parse(render_run(failing_doc)).find("section", id="trends")[0]
    convergence, failures = section.find("svg", "chart")
    runs = [g for g in convergence.find("g")]
    assert len(runs) == len(trend)
    missing = [g for g, t in zip(runs, trend) if t["convergence_s"] is None]
    assert missing and all(g.find("rect", "missing") for g in missing)
    heights = [float(g.find("rect")[0].attrs["height"]) for g, t in zip(runs, trend) if t["convergence_s"]]
    values = [t["convergence_s"] for t in trend if t["convergence_s"]]
    assert heights.index(max(heights)) == values.index(max(values))
    stacks = [len(g.find("rect")) for g in failures.find("g")]
    assert stacks == [sum(1 for v in t["failures"].values() if v) for t in trend]


def test_edges_a_line_each_from_deploy_to_converged(failing_doc):
    edges = failing_doc["edges"]["edges"]
    section = parse(render_run(failing_doc)).find("section", id="edges")[0]
    assert len(section.find("tr", "edge-row")) == len(edges)
    bars = [g.find("rect")[0] for g in section.find("svg", "chart")[0].find("g")]
    assert len(bars) == len(edges)
    done = [(float(b.attrs["width"]), e["converged_after_s"]) for b, e in zip(bars, edges) if e["converged_after_s"]]
    (w1, v1), (w2, v2) = done
    assert w2 / w1 == pytest.approx(v2 / v1, rel=0.02)
    never = [b for b, e in zip(bars, edges) if e["converged_after_s"] is None]
    assert never and all("bar-open" in b.classes for b in never)


def test_convergence_draws_the_release_and_each_late_check(failing_doc):
    late = next(c for c in failing_doc["checks"] if c["outcome"] == "passed" and c["suite"] == "cache")
    late.update(attempts=4, converged_after_s=9.5)
    section = parse(render_run(failing_doc)).find("section", id="propagation")[0]
    bars = section.find("svg", "chart")[0].find("g")
    labels = [g.find("text")[0].text for g in bars]
    assert labels[0].startswith("release build-2026.11.25-new")
    assert late["id"] in labels
    assert [g for g in bars if "bar-failed" in g.find("rect")[0].classes], "checks still failing are drawn in red"
    release = float(bars[0].find("rect")[0].attrs["width"])
    mine = float(bars[labels.index(late["id"])].find("rect")[0].attrs["width"])
    assert mine / release == pytest.approx(9.5 / failing_doc["release"]["served_after_s"], rel=0.02)


def test_nothing_to_draw_says_so(doc_factory):
    doc = doc_factory(passing=True, history=False, edges=False)
    doc["release"] = {"marker": None, "served_after_s": None, "gate": None, "reason": None}
    section = parse(render_run(doc)).find("section", id="propagation")[0]
    assert not section.find("svg") and "nothing converged later" in section.text


def test_a_minimal_doc_renders():
    html = render_run({"schema": 2, "domain": "www.example.test", "counts": {}, "checks": []})
    assert "www.example.test" in html and "no checks were collected" in html


@pytest.mark.parametrize("top,end,step", [(0, 1.0, 0.25), (3.0, 3.0, 1), (9.5, 10, 2), (122, 125, 25), (0.4, 0.4, 0.1)])
def test_axis_ends_on_a_round_number_above_the_data(top, end, step):
    assert _nice_max(top) == (pytest.approx(end), pytest.approx(step))


def test_bar_widths_are_proportional():
    chart = hbars([{"label": "a", "value": 2.0}, {"label": "b", "value": 8.0}, {"label": "c", "value": None}])
    a, b, c = chart["bars"]
    assert b["w"] == pytest.approx(4 * a["w"]) and c["w"] == 0
    assert chart["ticks"][0]["x"] == chart["x0"] and float(chart["ticks"][-1]["text"]) >= 8


def test_write_run_html(tmp_path, failing_doc):
    path = write_run_html(failing_doc, tmp_path / "out")
    assert path == tmp_path / "out" / "report.html" and path.read_text().startswith("<!DOCTYPE html>")


def test_an_error_check_shows_its_message_and_a_failed_gate_is_announced(failing_doc):
    check = next(c for c in failing_doc["checks"] if c["outcome"] == "failed")
    check.update(outcome="could_not_judge", expected=None, actual=None, cause=None, reproduce=None,
                 message="ERROR [static.served] could not judge: no response (connect): connection refused")
    xid = check["exchanges"][0]
    failing_doc["exchanges"][xid].update(status=None, headers=[], error="connection refused", error_phase="connect")
    failing_doc["release"].update(served_after_s=None, gate="failed", reason="build-2026.11.25-new not served within 600 s")
    page = parse(render_run(failing_doc))
    article = page.find("article", data_check=check["id"])[0]
    assert "error" in article.classes and not article.find("dl")
    assert article.find("pre", "message")[0].text == check["message"]
    assert "no response (connect): connection refused" in article.find("details", "exchange")[0].find("summary")[0].text
    assert "Release gate failed: build-2026.11.25-new not served within 600 s" in page.find("div", id="release-gate")[0].text
    bars = page.find("section", id="propagation")[0].find("g")
    assert "bar-failed" in bars[0].find("rect")[0].classes  # the release bar: gate failed, marker never served


def test_a_run_without_a_gate_shows_no_gate_warning_and_an_early_end_is_announced(failing_doc):
    failing_doc["release"] = {"marker": None, "served_after_s": None, "gate": "none", "reason": None}
    page = parse(render_run(failing_doc))
    assert not page.find("div", id="release-gate") and not page.find("div", id="run-note")
    failing_doc["note"] = "the distribution was not deployed in time: E2ABC still InProgress"
    note = parse(render_run(failing_doc)).find("div", id="run-note")
    assert note and "E2ABC still InProgress" in note[0].text


def test_an_exchange_sent_again_on_a_new_connection_says_why(failing_doc):
    failed = next(c for c in failing_doc["checks"] if c["outcome"] == "failed" and c["exchanges"])
    ref = failed["exchanges"][0]
    why = "the kept-alive connection it first went out on gave 'Invalid status line' before any status line"
    doc = {**failing_doc, "exchanges": {**failing_doc["exchanges"], ref: {**failing_doc["exchanges"][ref],
                                                                         "retried": why}}}
    art = next(a for a in parse(render_run(doc)).find("article", "check") if a.attrs["data-check"] == failed["id"])
    exchange = next(x for x in art.find("details", "exchange") if x.attrs["data-exchange"] == ref)
    assert exchange.find("p", "retried")[0].text == _norm(f"Sent again on a new connection: {why}")
    assert parse(render_run(failing_doc)).find("p", "retried") == []  # sent once: nothing said
