"""edges: every edge location serves the same release, entry document and verdicts (not just the nearest edge)."""

import pytest

import edgeverify.rules.edges  # noqa: F401  (registers edges.consistent; the edges package loads dnspython)


@pytest.mark.rule("edges.consistent")
def test_every_edge_serves_the_same_release(edge, target):
    if target.edges.mode == "nearest":
        pytest.skip("edges.mode is nearest (the default): only the nearest edge is verified, by the other suites")
    from edgeverify.edges import check_consistent, edges_block, run_edges, timeline  # dnspython: only when asked

    deadline, run_deadline = edge.run.deadlines
    run = run_edges(target, deadline=deadline, started=edge.run.started, run_deadline=run_deadline)
    edge.data["edges"] = edges_block(run)  # for the reports
    for line in timeline(run):
        print(f"edgeverify edges: {line}")
    if not run.results:
        problems = "; ".join(f"{p.region or target.domain}: {p.error}" for p in run.discovery.problems)
        pytest.fail(f"edges: no edge discovered in mode {target.edges.mode} ({problems or 'nothing returned'})",
                    pytrace=False)
    check_consistent(run.results, target.propagation.release_marker)
