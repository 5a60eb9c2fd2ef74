"""Latency kept in the run history, against the lab: runs of the latency suite sharing one history show no trend at
first, then each edge's p95 against the median of its earlier runs (terminal, summary.md, report.html); an edge
slowed by the benchmark's delay proxy (a TCP relay adding a round trip) is flagged as a regression, a warning that
fails nothing. Only the proxy's guaranteed floor is relied on (never a wall-clock upper bound)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from benchmark import DelayProxy  # noqa: E402

SUITE = str(ROOT / "suites" / "test_latency.py")
RTT_MS = 300  # a fresh TLS 1.3 request waits two round trips: 600 ms of TTFB at least


def report(run, name: str) -> str:
    """A report the run wrote, found from the 'edgeverify report: PATH' lines of its terminal summary."""
    paths = re.findall(r"^edgeverify report: (\S+)$", run.output, re.M)
    return Path(next(p for p in paths if p.endswith(name))).read_text(encoding="utf-8")


def test_history_keeps_latency_per_edge_and_flags_an_edge_slowed_down(lab, run_edgeverify, tmp_path):
    edge = lab.edge()
    target = tmp_path / "lab-trend.yaml"
    target.write_text((ROOT / "targets" / "local-lab.yaml").read_text() + "budgets:\n  samples: 3\n")
    history = f"--history=sqlite:///{tmp_path / 'history.sqlite'}"

    first = run_edgeverify(edge, SUITE, history, target=target)
    assert first.returncode == 0, first.output
    assert "edgeverify: history: latency: no trend yet: the first run recording latency" in first.output
    assert first.doc["history"]["latency"]["first"]

    second = run_edgeverify(edge, SUITE, history, target=target)
    assert second.returncode == 0, second.output
    rows = {r["kind"]: r for r in second.doc["history"]["latency"]["rows"]}
    assert set(rows) == {"document", "asset", "api"} and rows["document"]["edge"] == "LAB50-C1"
    assert rows["document"]["runs"] == 1 and rows["document"]["ttfb_median_ms"] is not None
    line = re.search(r"^edgeverify: history: latency: p95 of \d+ edge and kind pair\(s\) within the trend, the largest "
                     r"rise \S+ (document|asset|api) [+-]\d+ % \(median of up to 7 runs; the table in summary.md\)$",
                     second.output, re.M)
    assert line, second.output
    summary = report(second, "summary.md")
    assert "### Latency trend" in summary and "| LAB50-C1 | document |" in summary
    page = report(second, "report.html")
    assert 'id="latency-trend"' in page and page.count('class="latency-trend-row"') == 3

    third = run_edgeverify(edge, SUITE, history, target=target)
    assert third.returncode == 0, third.output

    proxy = DelayProxy(edge.https_port, RTT_MS)
    slowed = run_edgeverify(edge, SUITE, history, target=target,
                            env={"EDGEVERIFY_CONNECT_TO": f"www.example.test:443:127.0.0.1:{proxy.port}"})
    assert slowed.returncode == 0, slowed.output  # a regression warns; it fails nothing
    rows = {r["kind"]: r for r in slowed.doc["history"]["latency"]["rows"]}
    document = rows["document"]
    assert document["runs"] == 3 and document["ttfb_p95_ms"] >= 2 * RTT_MS and "ttfb" in document["regressed"]
    warning = next(w for w in slowed.doc["warnings"] if w.startswith("latency regression at edge LAB50-C1 (document)"))
    assert f"edgeverify: WARNING: {warning}" in slowed.output
    assert f"> **Warning:** {warning}" in report(slowed, "summary.md")
    assert "⚠️ regression" in report(slowed, "summary.md")
    assert 'class="latency-trend-row regressed"' in report(slowed, "report.html")
