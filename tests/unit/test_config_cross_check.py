"""cross_check(): a failing finding's cause weighed against the config suite's rules of the same run (no sockets)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from edgeverify.model import Acceptance, CheckResult, Finding, Outcome, Release, RunResult, cross_check
from edgeverify.reports import from_json, report_schema, terminal, to_json

CAUSE = "the CloudFront behavior for /api/* does not allow POST; change: AllowedMethods"


def run_with(*config: tuple[str, Outcome], confirm: tuple[str, ...] = ("config.api_methods",)) -> RunResult:
    edge = CheckResult(id="test_api.py::test_call[echo]", outcome=Outcome.FAILED, rule="api.call", suite="api",
                       message="FAILED [api.call] POST /api/echo answers\n  Likely:   " + CAUSE, key="api.call[echo]",
                       finding=Finding("200", "403", CAUSE, "curl -sS -X POST https://x.test/api/echo",
                                       confirm=confirm))
    checks = [edge] + [CheckResult(id=f"test_config.py::test_{i}", outcome=o, rule=r, suite="config",
                                   acceptance=Acceptance("moto", "web", "2099-01-01", False)
                                   if o is Outcome.ACCEPTED else None)
                       for i, (r, o) in enumerate(config)]
    return RunResult(domain="www.example.test", target="t.yaml", target_name="t", tool="edgeverify t",
                     started_at=1.0, finished_at=2.0, checks=tuple(checks), release=Release())


@pytest.mark.parametrize("outcomes, verdict, said", [
    ([Outcome.FAILED], "found", "cause confirmed"),
    ([Outcome.ACCEPTED], "found", "cause confirmed"),  # a known issue is still the configuration showing it
    ([Outcome.PASSED], "clear", "the configuration does not show this cause"),
    ([Outcome.PASSED, Outcome.FAILED], "found", "cause confirmed"),  # any subject of the rule showing it
    ([Outcome.COULD_NOT_JUDGE], "not judged", "config.api_methods not judged"),
    ([Outcome.SKIPPED], "not applicable", "config.api_methods not applicable"),
])
def test_the_config_rules_outcome_confirms_or_rules_out(outcomes, verdict, said):
    run = cross_check(run_with(*[("config.api_methods", o) for o in outcomes]))
    edge = run.checks[0]
    assert edge.finding is not None and edge.finding.config == (("config.api_methods", verdict),)
    assert said in edge.finding.cross_check()
    assert edge.message.endswith(f"\n  Config:   {edge.finding.cross_check()}")
    assert f"edgeverify: config cross-check of api.call[echo]: {edge.finding.cross_check()}" in terminal(run)
    assert run.exit_status == run_with(*[("config.api_methods", o) for o in outcomes]).exit_status  # says, never decides


def test_a_rule_the_run_did_not_include_is_said_not_run():
    run = cross_check(run_with(("config.tls_policy", Outcome.PASSED), confirm=("config.api_methods", "config.aliases")))
    assert run.checks[0].finding.config == (("config.api_methods", "not run"), ("config.aliases", "not run"))
    assert "config.api_methods not run" in run.checks[0].finding.cross_check()


def test_without_config_checks_nothing_changes():
    run = run_with()
    assert cross_check(run) is run


def test_the_json_report_keeps_it_and_validates():
    run = cross_check(run_with(("config.api_methods", Outcome.FAILED)))
    doc = json.loads(json.dumps(to_json(run)))
    jsonschema.validate(doc, report_schema())
    check = doc["checks"][0]
    assert check["config"] == [{"rule": "config.api_methods", "verdict": "found"}]
    assert check["cross_check"] == run.checks[0].finding.cross_check()
    assert from_json(doc).checks[0].finding == run.checks[0].finding
