"""The fault matrix: every lab fault is caught by the suite meant for it, with its diagnosis, and the
correct lab passes every suite. Each row runs all suites, so the matrix also shows what else fails."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from edgeverify.lab import FAULTS
from edgeverify.rules import RULES, load_all

ROOT = Path(__file__).resolve().parents[2]
MATRIX_DIR = ROOT / "reports" / "fault-matrix"
GROUPS = ("https", "static", "cache", "api", "cors", "spa", "security", "propagation", "browser", "ipv6", "http3")


def _catches() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for group in GROUPS:
        module = importlib.import_module(f"catches_{group}")
        for fault, rules in module.CATCHES.items():
            merged.setdefault(fault, {}).update(rules)
    return merged


CATCHES = _catches()


def test_every_fault_has_a_catching_rule_and_every_failing_rule_a_fault():
    assert set(FAULTS) == set(CATCHES), set(FAULTS) ^ set(CATCHES)
    load_all()
    caught = {rule for rules in CATCHES.values() for rule in rules}
    # config.* rules are proven on moto (tests/aws); the release rule by tests/lab/test_propagation.py;
    # edges.consistent by tests/edges (a fleet of lab edges); latency.budget by tests/lab/test_latency_budgets.py (a delay
    # proxy in front of the lab edge, not a fault of its configuration).
    lab_rules = {r.id for r in RULES.values() if r.suite not in ("config", "propagation", "edges", "latency")}
    assert lab_rules - caught == set(), "rules no lab fault proves"
    assert caught <= set(RULES), caught - set(RULES)


def test_correct_lab_passes_every_suite(lab, run_edgeverify):
    # latency.budget is left out: its default budgets judge this machine's clock, which a loaded CI machine
    # stretches (a 993 ms TTFB once); tests/lab/test_latency_budgets.py proves it through the delay proxy
    run = run_edgeverify(lab.edge(), "--strict-advisories", "-k", "not every_kind_answers_within_its_budget")
    assert run.returncode == 0, run.output
    assert run.failed() == {}
    skipped = [c["nodeid"] for c in run.checks if c["outcome"] == "skipped" and c.get("suite") not in ("config", "edges")]
    assert skipped == [], run.output  # every lab check judged something (config needs AWS: tests/aws; edges a fleet)
    _write_row("(correct lab)", run, {})


@pytest.mark.parametrize("fault", sorted(CATCHES))
def test_fault_is_caught_with_its_diagnosis(lab, run_edgeverify, fault):
    # Chromium runs only in the rows of the faults the browser suite is meant to catch (each row is a run of its
    # own: a browser per row would add seconds to every one of them); the correct lab's row runs it too.
    browser = any(rule.startswith("browser.") for rule in CATCHES[fault])
    run = run_edgeverify(lab.edge(faults=[fault]), "--strict-advisories", *(() if browser else ("-m", "not browser")))
    _write_row(fault, run, CATCHES[fault])
    assert run.returncode == 1, run.output
    failed = run.failed()
    for rule, text in CATCHES[fault].items():
        assert rule in failed, f"{fault}: {rule} did not fail; failed: {sorted(failed)}\n{run.output[-4000:]}"
        message = failed[rule]
        # header names are case-insensitive (and lower-case over HTTP/2, the default)
        assert text.lower() in message.lower(), f"{fault}: {rule} message lacks {text!r}:\n{message}"
        for part in ("Expected:", "Actual:", "Likely cause:", "Reproduce:"):
            assert part in message, f"{fault}: {rule} message lacks {part}\n{message}"
    assert "Traceback" not in run.output


def _write_row(fault: str, run, expected: dict[str, str]) -> None:
    """One matrix row, collected by tests/conftest.py into a table at the end of the run."""
    suites = sorted({c.get("suite") or "?" for c in run.checks if c["outcome"] in ("failed", "could_not_judge", "advisory")})
    meant = sorted({rule.split(".")[0] for rule in expected})
    MATRIX_DIR.mkdir(parents=True, exist_ok=True)
    name = fault.strip("()").replace(" ", "-")
    (MATRIX_DIR / f"{name}.json").write_text(json.dumps({"fault": fault, "failing": suites, "meant": meant}))
