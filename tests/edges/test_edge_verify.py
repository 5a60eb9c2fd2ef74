"""Per-edge verification in process against the lab fleet: own transports, only safe methods, POPs, bounds."""

from __future__ import annotations

import time

import pytest

from edgeverify.edges import check_consistent, edges_block, run_edges, timeline
from edgeverify.redact import register_secret, secrets_scope
from edgeverify.rules import Violation


def test_each_edge_is_reached_at_its_own_address_with_safe_methods_only(fleet, fleet_target):
    f = fleet(3)
    target = fleet_target(f)  # local-lab.yaml declares a POST call (echo) and a GET call (health)
    started = time.monotonic()
    run = run_edges(target, deadline=started + 10, started=started)
    check_consistent(run.results, target.propagation.release_marker)
    for e, r in zip(f.edges, run.results):
        assert r.pops == [e.pop] and r.regions == [e.region] and r.status == "passed"
        assert set(r.verdicts) == {"propagation.release", "static.served", "cache.html_revalidated",
                                   "cache.immutable_assets", "api.call[health]", "https.redirect_status",
                                   "https.redirect_target", "https.hsts", "cors.preflight", "security.csp_present",
                                   "security.framing", "security.nosniff", "cache.api_not_cached"}
        log = f.access_log(e).read_text()
        assert '"GET / ' in log and '"GET /api/health ' in log and '"OPTIONS /api/echo ' in log  # a preflight
        assert "POST" not in log and '"GET /api/echo' not in log  # the declared POST is never sent to every edge
    block = edges_block(run)
    assert block["requests"] == run.requests == 3 * 5  # entry (gate, reused), asset, health, redirect, preflight


def test_a_different_verdict_on_one_edge_fails_naming_the_rule_and_edge(fleet, fleet_target):
    f = fleet(3, faults={1: ["http-no-redirect"]})  # one location still allows plain HTTP
    target = fleet_target(f)
    started = time.monotonic()
    run = run_edges(target, deadline=started + 1.5, started=started)
    with pytest.raises(Violation) as caught:
        check_consistent(run.results, target.propagation.release_marker)
    actual = caught.value.actual
    assert "https.redirect_status fails on 127.0.0.22 only" in actual
    assert "127.0.0.22 (POP LAB22-C1, region eu-west-1): release build-2026.11.25-new" in actual
    assert [r.status for r in run.results] == ["passed", "failed", "passed"]
    # the curl line reproduces the failing http:// request at that edge, not the home page over https
    reproduce = caught.value.reproduce or ""
    assert "--connect-to www.example.test:80:127.0.0.22:" in reproduce and " 'http://www.example.test/__edgeverify/probe-" in reproduce
    cause = caught.value.cause or ""
    assert "https.redirect_status:" in cause and "invalidate" not in cause, cause


def test_an_unreachable_edge_is_an_error_and_a_finding_within_the_deadline(fleet, fleet_target):
    f = fleet(2)
    target = fleet_target(f, mode="addresses", extra="  addresses: [127.0.0.21, 127.0.0.29]\n")
    started = time.monotonic()
    run = run_edges(target, deadline=started + 2, started=started)
    assert [r.status for r in run.results] == ["passed", "error"]
    assert "refused" in (run.results[1].error or "")
    with pytest.raises(Violation) as caught:
        check_consistent(run.results, target.propagation.release_marker)
    assert "no answer from 127.0.0.29" in caught.value.actual
    lines = timeline(run)
    assert lines[0].startswith("127.0.0.21 (POP LAB21-C1, no region): passed, converged after")
    assert lines[1].startswith("127.0.0.29 (POP unknown, no region): error, did not converge")


def test_a_secret_release_marker_is_shown_as_its_placeholder(fleet, fleet_target):
    f = fleet(1)
    target = fleet_target(f)
    with secrets_scope():  # this test's secret does not outlive it
        register_secret(target.propagation.release_marker or "", "BUILD_ID")  # as if written ${BUILD_ID}
        started = time.monotonic()
        run = run_edges(target, deadline=started + 2, started=started)
        assert run.results[0].release == "build-2026.11.25-new"  # judged on the real value
        assert edges_block(run)["edges"][0]["release"] == "${BUILD_ID}"
        assert "build-2026.11.25-new" not in " ".join(timeline(run)) and "${BUILD_ID}" in timeline(run)[0]