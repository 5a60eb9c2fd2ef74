"""Over HTTP/2 (the default; --http1.1 or http2: false turn it off): the same verdicts as over HTTP/1.1, on few
multiplexed connections.

The lab's edge offers HTTP/2 in its TLS handshake, as CloudFront does; plain-HTTP probes stay HTTP/1.1.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

LAB_TARGET = Path(__file__).resolve().parents[2] / "targets" / "local-lab.yaml"


def statuses(run):
    return {c["id"]: c["outcome"] for c in run.checks}


@pytest.fixture(scope="module")
def good_edge(lab):
    return lab.edge()


def test_the_main_job_passes_alike_over_http2_on_few_connections(good_edge, run_edgeverify):
    h1 = run_edgeverify(good_edge, "--http1.1")
    h2 = run_edgeverify(good_edge)
    assert h1.returncode == 0 and h2.returncode == 0, h2.output[-3000:]
    assert statuses(h2) == statuses(h1)
    # (https.http3's own request is HTTP/3 whatever the transport speaks: it is left aside)
    protocols = Counter((ex["request"]["url"].split(":")[0], ex["http"]) for ex in h2.doc["exchanges"].values()
                        if ex["http"] != "3")
    assert set(protocols) == {("https", "2"), ("http", "1.1")}, protocols
    assert {ex["http"] for ex in h1.doc["exchanges"].values()} - {"3"} == {"1.1"}
    # many requests in flight per connection: fewer connections than HTTP/1.1's one per request in flight
    assert h2.doc["network"]["connections"] < h1.doc["network"]["connections"], (h2.doc["network"],
                                                                                h1.doc["network"])


@pytest.mark.parametrize("fault, rule, shown", [
    ("assets-not-edge-cached", "cache.asset_edge_hit", "X-Cache: Miss from cloudfront"),
    ("asset-missing", "static.head", "403 Forbidden"),  # HTTP/2 has no reason phrase: the standard one is shown
])
def test_a_fault_is_caught_over_http2_with_the_same_words(lab, run_edgeverify, fault, rule, shown):
    run = run_edgeverify(lab.edge(faults=[fault]))
    failing = {c["rule"]: c for c in run.checks if c["outcome"] in ("failed", "could_not_judge")}
    assert rule in failing, run.output[-3000:]
    assert shown in (failing[rule]["actual"] or ""), failing[rule]


def test_max_connections_bounds_the_connections_over_http2_too(good_edge, run_edgeverify, tmp_path):
    target = tmp_path / "two.yaml"
    # without the origins' endpoints (security.origin_direct asks them by their own names: other connections)
    text = re.sub(r"^origins:.*?\n\n", "", LAB_TARGET.read_text(), flags=re.S | re.M)
    target.write_text(text + "\nmax_connections: 1\n")
    run = run_edgeverify(good_edge, target=target)
    assert run.returncode == 0, run.output[-3000:]
    # one per edge address: the HTTPS one (multiplexed) and the plain-HTTP probes' one
    addresses = sorted({(ex["address"], ex["request"]["url"].split(":")[0], ex["http"]) for ex in run.doc["exchanges"].values()})
    assert run.doc["network"]["connections"] <= 2, (run.doc["network"], addresses)
