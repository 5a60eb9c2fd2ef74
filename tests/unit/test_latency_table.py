"""Latency over recorded exchanges (no socket): percentiles, kinds, the per-edge block, and the budget rule."""

import pytest

from edgeverify.exchange import Exchange
from edgeverify.latency import kind_of, latency_block, percentile
from edgeverify.rules import Violation
from edgeverify.rules.latency import check_budgets


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == 10 and percentile(values, 95) == 19 and percentile(values, 100) == 20
    assert percentile([7.0], 95) == 7 and percentile([], 95) is None


@pytest.mark.parametrize("path, kind", [("/", "document"), ("/index.html", "document"), ("/dashboard", "document"),
                                        ("/assets/app.1c995a9b.js", "asset"), ("/favicon.ico", "asset"),
                                        ("/api/health", "api"), ("/api", "api"), ("/apiary", "document")])
def test_kinds(path, kind):
    assert kind_of(path, "/api/") == kind


def record(path, ttfb, total, pop="LAB50-C1", address="127.0.0.1", x_cache="Miss from cloudfront", tls=0.0):
    return {"request": {"method": "GET", "url": f"https://www.example.test{path}"}, "status": 200, "pop": pop,
            "address": address, "x_cache": x_cache, "ttfb_ms": ttfb, "elapsed_ms": total,
            "timings": {"dns_ms": 0.0, "connect_ms": tls / 2, "tls_ms": tls}}


def test_block_groups_by_edge_and_kind_with_hit_ratio():
    block = latency_block([record("/", 30, 31, tls=20), record("/", 10, 11),
                           record("/assets/a.js", 5, 9, x_cache="Hit from cloudfront"),
                           record("/api/health", 50, 51),
                           record("/", 90, 95, pop="FRA56-P1", address="192.0.2.7"),
                           {"request": {"url": "https://www.example.test/x"}, "status": None}], "/api/")
    assert block is not None
    edges = {(e["pop"], e["address"]): e for e in block["edges"]}
    lab = edges[("LAB50-C1", "127.0.0.1")]
    assert lab["requests"] == 4 and lab["hit_ratio"] == round(1 / 3, 3)
    assert lab["kinds"]["document"] == {"requests": 2, "connect_p50_ms": 10.0, "connect_p95_ms": 10.0,
                                        "tls_p50_ms": 20.0, "tls_p95_ms": 20.0, "ttfb_p50_ms": 10.0,
                                        "ttfb_p95_ms": 30.0, "wait_p50_ms": 10.0, "wait_p95_ms": 10.0,
                                        "total_p50_ms": 11.0, "total_p95_ms": 31.0, "hit_ratio": 0.0}
    assert lab["kinds"]["asset"]["hit_ratio"] == 1.0 and "hit_ratio" not in lab["kinds"]["api"]
    assert lab["kinds"]["api"]["ttfb_p95_ms"] == 50
    assert edges[("FRA56-P1", "192.0.2.7")]["kinds"]["document"]["ttfb_p50_ms"] == 90
    assert latency_block([], "/api/") is None


def answered(path, ttfb_ms, total_ms=None):
    ex = Exchange("GET", f"https://www.example.test{path}", status=200, reason="OK",
                  headers=[("x-amz-cf-pop", "LAB50-C1")], connect_to=("www.example.test:443:127.0.0.1:8443",))
    ex.ttfb_s, ex.elapsed_s, ex.address = ttfb_ms / 1000, (total_ms or ttfb_ms + 1) / 1000, "127.0.0.1"
    return ex


def test_a_declared_budget_exceeded_fails_and_names_the_edge():
    samples = {"document": [answered("/", ms) for ms in (40, 41, 45, 120)], "api": [answered("/api/health", 5)]}
    with pytest.raises(Violation) as info:
        check_budgets(samples, {"document": {"ttfb_p95_ms": 100}, "api": {"ttfb_p95_ms": 100}}, declared=True)
    v = info.value
    assert not v.advisory and v.rule.id == "latency.budget"
    text = v.render()
    assert "document ttfb p95 120 ms > 100 ms (p50 41 ms over 4 requests, edge LAB50-C1 127.0.0.1)" in text
    assert "Likely cause:" in text and "time_starttransfer" in text and "--connect-to" in text
    check_budgets(samples, {"document": {"ttfb_p95_ms": 200, "total_p95_ms": 200}}, declared=True)


def test_undeclared_budgets_only_advise():
    with pytest.raises(Violation) as info:
        check_budgets({"asset": [answered("/a.js", 900)]}, {"asset": {"ttfb_p95_ms": 800}}, declared=False)
    assert info.value.advisory and "default budget" in info.value.render()
