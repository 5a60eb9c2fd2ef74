"""edges: every edge location serves the same release, entry document and verdicts (not just the nearest edge)."""

import json
import time

import pytest

from edgeverify.edges import check_consistent, edges_block, run_edges, timeline

_STARTED = time.monotonic()  # the run's start, on this process: the propagation deadline counts from here


def _deadlines(config, target):
    """(propagation deadline, run deadline): the plugin's, when it keeps them; else counted from this module's import."""
    from edgeverify import plugin

    keys = getattr(plugin, "_DEADLINE", None), getattr(plugin, "_RUN_DEADLINE", None)
    found = [config.stash.get(k, None) if k is not None else None for k in keys]
    return (found[0] if found[0] is not None else _STARTED + target.propagation.timeout), found[1]


@pytest.mark.rule("edges.consistent")
def test_every_edge_serves_the_same_release(target, record_property, pytestconfig):
    if target.edges.mode == "nearest":
        pytest.skip("edges.mode is nearest (the default): only the nearest edge is verified, by the other suites")
    deadline, run_deadline = _deadlines(pytestconfig, target)
    run = run_edges(target, deadline=deadline, started=_STARTED, run_deadline=run_deadline)
    record_property("edgeverify_edges", json.dumps(edges_block(run)))
    for line in timeline(run):
        print(f"edgeverify edges: {line}")
    if not run.results:
        problems = "; ".join(f"{p.region or target.domain}: {p.error}" for p in run.discovery.problems)
        pytest.fail(f"edges: no edge discovered in mode {target.edges.mode} ({problems or 'nothing returned'})",
                    pytrace=False)
    check_consistent(run.results, target.propagation.release_marker)
