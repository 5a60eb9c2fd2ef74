"""edges: every edge location serves the same release, entry document and verdicts (not just the nearest edge)."""

import json
import time

import pytest

from edgeverify.edges import check_consistent, edges_block, run_edges, timeline

_STARTED = time.monotonic()  # the run's start, on this process: the propagation deadline counts from here


@pytest.mark.rule("edges.consistent")
def test_every_edge_serves_the_same_release(target, record_property):
    if target.edges.mode == "nearest":
        pytest.skip("edges.mode is nearest (the default): only the nearest edge is verified, by the other suites")
    run = run_edges(target, deadline=_STARTED + target.propagation.timeout, started=_STARTED)
    record_property("edgeverify_edges", json.dumps(edges_block(run)))
    for line in timeline(run):
        print(f"edgeverify edges: {line}")
    if not run.results:
        problems = "; ".join(f"{p.region or target.domain}: {p.error}" for p in run.discovery.problems)
        pytest.fail(f"edges: no edge discovered in mode {target.edges.mode} ({problems or 'nothing returned'})",
                    pytrace=False)
    check_consistent(run.results, target.propagation.release_marker)
