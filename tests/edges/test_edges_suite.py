"""suites/test_edges.py against 5 lab edges behind the lab's subnet-aware DNS server (real pytest runs)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable

import pytest

from edgeverify.lab.fleet import Fleet

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class EdgesRun:
    returncode: int
    output: str
    checks: list[dict[str, Any]]
    block: dict[str, Any] | None
    wall_s: float

    def edge(self, address: str) -> dict[str, Any]:
        assert self.block is not None, self.output
        return next(e for e in self.block["edges"] if e["address"] == address)


@pytest.fixture
def run_suite(fleet_target_yaml: Callable[..., str], tmp_path: Path) -> Callable[..., EdgesRun]:
    """run_suite(fleet, timeout, mode="regions"): suites/test_edges.py in a real pytest run against the fleet."""
    return lambda f, timeout, mode="regions": _run(fleet_target_yaml(f, mode), f, tmp_path, timeout)


def _run(yaml_text: str, f: Fleet, tmp_path: Path, timeout: float) -> EdgesRun:
    target = tmp_path / "fleet.yaml"
    target.write_text(yaml_text)
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--target", str(target),
           "--reports-dir", str(reports), f"--propagation-timeout={timeout:g}", "suites/test_edges.py"]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **f.env()}, capture_output=True, text=True, timeout=120)
    wall = time.monotonic() - started
    report = reports / "edgeverify.json"
    doc = json.loads(report.read_text()) if report.exists() else {}
    checks, block = doc.get("checks", []), doc.get("edges")
    return EdgesRun(proc.returncode, proc.stdout + proc.stderr, checks, block, wall)


def test_all_edges_converged_passes(fleet, run_suite):
    f = fleet(5)
    run = run_suite(f, timeout=10)
    assert run.returncode == 0, run.output
    assert run.block is not None and run.block["mode"] == "regions"
    assert [(e["address"], e["pop"], e["status"]) for e in run.block["edges"]] == [
        (e.address, e.pop, "passed") for e in f.edges]
    assert {e["release"] for e in run.block["edges"]} == {"build-2026.11.25-new"}
    # every edge was on the new release at its first poll (a count, not the loaded machine's clock)
    assert all(e["converged_after_s"] is not None and e["attempts"] == 1 for e in run.block["edges"]), run.block
    assert run.block["unresolved"] == [] and run.block["dns_queries"] == 5
    # the same block reaches edgeverify.json with the check (user_properties), for reports.py to lift out
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]


def test_one_edge_lagging_8_s_passes_and_reports_its_convergence_time(fleet, run_suite):
    f = fleet(5, lag={2: 8.0})
    run = run_suite(f, timeout=25)
    assert run.returncode == 0, run.output
    lagging = run.edge("127.0.0.23")
    assert lagging["pop"] == "LAB23-C1" and lagging["region"] == "ap-northeast-1"
    assert lagging["status"] == "passed" and lagging["release"] == "build-2026.11.25-new"
    # converged_after_s counts from the run's start; the edge switched 8 s after the fleet started
    switched = run.block["started_at"] + lagging["converged_after_s"] - f.started_at
    assert switched >= 8.0, (switched, lagging)  # never seen new before its switch
    assert lagging["attempts"] > 2  # polled (every 0.5 s) until it switched
    others = [e for e in run.block["edges"] if e["address"] != "127.0.0.23"]
    assert all(e["converged_after_s"] is not None and e["attempts"] == 1 for e in others), others


def test_one_edge_stuck_on_the_old_release_fails_naming_it_within_deadline_plus_3_s(fleet, run_suite):
    f = fleet(5, lag={3: math.inf})
    deadline = 4.0
    run = run_suite(f, timeout=deadline)
    assert run.returncode == 1, run.output
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]
    assert check["outcome"] == "failed"
    message = check["message"]
    assert "1 of 5 edges not as deployed" in message
    assert "127.0.0.24 (POP LAB24-C1, region sa-east-1): release build-2026.11.25-old" in message
    assert "build-2026.11.25-old on 127.0.0.24" in message
    stuck = run.edge("127.0.0.24")
    assert (stuck["status"], stuck["release"], stuck["converged_after_s"]) == ("failed", "build-2026.11.25-old", None)
    # the check's own time (from the run's start) is bounded by the deadline + 3 s
    assert run.block is not None and run.block["wall_s"] <= deadline + 3, run.block["wall_s"]


def test_nearest_mode_skips_with_the_reason(fleet, run_suite):
    f = fleet(1)
    run = run_suite(f, timeout=0, mode="nearest")
    assert run.returncode == 0, run.output
    assert "edges.mode is nearest" in run.output


def test_one_edge_without_hsts_fails_for_that_edge_with_a_configuration_cause(fleet, run_suite):
    f = fleet(3, faults={2: ["hsts-missing"]})
    run = run_suite(f, timeout=2)
    assert run.returncode == 1, run.output
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]
    assert check["outcome"] == "failed"
    assert "https.hsts fails on 127.0.0.23 only" in check["message"]
    assert "has not propagated there" in check["message"] and "invalidate" not in check["message"].split(
        "Likely cause:")[1].splitlines()[0]
    assert "--connect-to www.example.test:443:127.0.0.23:" in check["message"]  # the curl line goes to that edge


def test_every_edge_stale_fails_though_they_all_agree(fleet, run_suite):
    f = fleet(3, lag={0: math.inf, 1: math.inf, 2: math.inf})
    run = run_suite(f, timeout=2)
    assert run.returncode == 1, run.output
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]
    assert check["outcome"] in ("failed", "could_not_judge"), check  # the release gate may already have said it
    assert "build-2026.11.25-old" in check["message"]


def test_edges_that_never_answer_cannot_be_judged(fleet, fleet_target_yaml, tmp_path):
    f = fleet(1)
    text = fleet_target_yaml(f, "addresses", extra="  addresses: ['127.0.0.91', '127.0.0.92']\n")
    run = _run(text, f, tmp_path, 2)
    assert run.returncode == 1, run.output  # never a pass: nothing answered
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]
    assert check["outcome"] == "could_not_judge" and "no edge answered" in check["message"], check


def test_one_edge_whose_preflight_lacks_a_header_fails_for_that_edge(fleet, run_suite):
    f = fleet(3, faults={1: ["cors-missing-header"]})  # a CORS change one location has not caught up with
    run = run_suite(f, timeout=2)
    assert run.returncode == 1, run.output
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]
    assert check["outcome"] == "failed"
    assert "cors.preflight fails on 127.0.0.22 only" in check["message"]
    assert "--connect-to www.example.test:443:127.0.0.22:" in check["message"]


def test_nearest_edge_new_and_three_far_edges_old_fails_naming_each_far_edge(fleet, run_suite):
    """Green in CI, broken in another region: the nearest edge agrees with the deploy, three regions' do not."""
    f = fleet(4, lag={1: math.inf, 2: math.inf, 3: math.inf})
    run = run_suite(f, timeout=2)
    assert run.returncode == 1, run.output
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]
    assert check["outcome"] == "failed" and "3 of 4 edges not as deployed" in check["message"], check
    lines = {line.split("reproduce at this edge: ", 1)[1] for line in check["message"].splitlines()
             if "reproduce at this edge: " in line}
    for edge in f.edges[1:]:
        assert f"{edge.address} (POP {edge.pop}, region {edge.region}): release build-2026.11.25-old" in check["message"]
        [line] = [c for c in lines if f"--connect-to www.example.test:443:{edge.address}:" in c]  # its own curl line
        shown = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30)  # and it reproduces
        assert shown.returncode == 0 and "build-2026.11.25-old" in shown.stdout, shown.stderr
    assert run.edge(f.edges[0].address)["status"] == "passed"


def test_one_edge_whose_api_answers_are_cacheable_fails_for_that_edge(fleet, run_suite):
    f = fleet(3, faults={2: ["api-no-cache-control"]})  # a /api/* cache setting one location still has
    run = run_suite(f, timeout=2)
    assert run.returncode == 1, run.output
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]
    assert check["outcome"] == "failed"
    assert "cache.api_not_cached fails on 127.0.0.23 only" in check["message"], check["message"]
    assert "--connect-to www.example.test:443:127.0.0.23:" in check["message"]


def test_one_edge_without_the_security_headers_fails_for_that_edge(fleet, run_suite):
    f = fleet(3, faults={2: ["csp-missing"]})  # a response headers policy change one location has not caught up with
    run = run_suite(f, timeout=2)
    assert run.returncode == 1, run.output
    [check] = [c for c in run.checks if c["rule"] == "edges.consistent"]
    assert check["outcome"] == "failed"
    assert "security.csp_present fails on 127.0.0.23 only" in check["message"], check["message"]
    assert "--connect-to www.example.test:443:127.0.0.23:" in check["message"]
