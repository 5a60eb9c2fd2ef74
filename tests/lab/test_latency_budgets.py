"""The latency rule and the per-edge table against the lab through the benchmark's delay proxy (a TCP relay adding a
round trip): a declared budget the proxy's delay exceeds fails, naming the edge; a budget above it passes; the
report's per-edge percentiles carry the delay. Only lower bounds the proxy guarantees are asserted (never a wall-clock
upper bound); how closely the table matches an independent client is a benchmark figure (tests/benchmark_latency.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from benchmark import DelayProxy  # noqa: E402

SUITE = str(ROOT / "suites" / "test_latency.py")
RTT_MS = 40


@pytest.fixture(scope="module")
def delayed(lab):
    edge = lab.edge()
    proxy = DelayProxy(edge.https_port, RTT_MS)
    connect_to = f"www.example.test:443:127.0.0.1:{proxy.port} www.example.test:80:127.0.0.1:{edge.http_port}"
    return edge, {"EDGEVERIFY_CONNECT_TO": connect_to}


def target_with(tmp_path, budgets: str) -> Path:
    path = tmp_path / "lab-budgets.yaml"
    path.write_text((ROOT / "targets" / "local-lab.yaml").read_text() + budgets)
    return path


def test_a_declared_budget_the_delay_exceeds_fails(delayed, run_edgeverify, tmp_path):
    edge, env = delayed
    run = run_edgeverify(edge, SUITE, target=target_with(tmp_path, "budgets:\n  document: {ttfb_p95_ms: 20}\n"),
                         env=env)
    assert run.returncode == 1, run.output
    (check,) = run.checks
    assert check["outcome"] == "failed" and check["rule"] == "latency.budget"
    message = check["message"]
    assert "document ttfb p95" in message and "> 20 ms" in message and "edge LAB50-C1 127.0.0.1" in message
    for part in ("Expected:", "Actual:", "Likely cause:", "Reproduce:", "time_starttransfer"):
        assert part in message, message
    block = run.doc["latency"]["edges"]
    assert [(e["pop"], e["address"]) for e in block] == [("LAB50-C1", "127.0.0.1")]
    assert block[0]["kinds"]["document"]["ttfb_p50_ms"] >= RTT_MS  # the proxy's round trip is a floor


def test_a_budget_above_the_delay_passes(delayed, run_edgeverify, tmp_path):
    edge, env = delayed
    run = run_edgeverify(edge, SUITE, target=target_with(
        tmp_path, "budgets:\n  document: {ttfb_p95_ms: 60000}\n  asset: {total_p95_ms: 60000}\n"), env=env)
    assert run.returncode == 0, run.output
    assert [c["outcome"] for c in run.checks] == ["passed"]
    assert {k for k, _ in run.checks[0]["properties"]} == {"document ttfb p50/p95 ms", "asset ttfb p50/p95 ms",
                                                          "api ttfb p50/p95 ms"}


def test_without_budgets_a_slow_edge_is_only_advised(lab, run_edgeverify, tmp_path):
    edge = lab.edge()
    proxy = DelayProxy(edge.https_port, 1000)  # above the default 800 ms TTFB
    env = {"EDGEVERIFY_CONNECT_TO": f"www.example.test:443:127.0.0.1:{proxy.port}"}
    run = run_edgeverify(edge, SUITE, target=target_with(tmp_path, "budgets:\n  samples: 3\n"), env=env)
    assert run.returncode == 0, run.output
    assert [c["outcome"] for c in run.checks] == ["advisory"]
    assert "default budget" in run.checks[0]["message"]
