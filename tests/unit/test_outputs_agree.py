"""Every output of a run agrees with its exit status and with each check's outcome (a property test).

RunResults are generated (outcomes, known issues, interrupts, --fail-on new with a history view); each
output is then read back the way its reader sees it: the JSON report (through the published schema), JUnit
XML, the Markdown summary and the CI step summary, the terminal summary and the HTML page.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeverify.html import render_run
from edgeverify.model import Acceptance, CheckResult, ExitCode, Finding, Outcome, Release, RunResult
from edgeverify.reports import from_json, junit, junit_name, markdown, report_schema, terminal, to_json

RULES = ["https.hsts", "cache.api_never_hit", "cors.preflight", "static.served", "spa.deep_link", "api.call"]
JUNIT = {Outcome.FAILED: "failure", Outcome.COULD_NOT_JUDGE: "error", Outcome.INTERRUPTED: "error",
         Outcome.SKIPPED: "skipped", Outcome.ACCEPTED: "skipped", Outcome.PASSED: None, Outcome.ADVISORY: None}


@st.composite
def check_results(draw: st.DrawFn, index: int) -> CheckResult:
    outcome = draw(st.sampled_from(list(Outcome)))
    rule = draw(st.sampled_from(RULES))
    param = draw(st.text(alphabet="/abc-<>&\"'|[]", min_size=0, max_size=6))
    acceptance = None
    if outcome is Outcome.ACCEPTED or (outcome is Outcome.FAILED and draw(st.booleans())):
        acceptance = Acceptance("vendor bundle <b>", "web", "2026-12-31", expired=outcome is Outcome.FAILED)
    finding = Finding("200", "404 Not Found", "the object is missing", "curl -sS -i https://x.test/") \
        if outcome in (Outcome.FAILED, Outcome.ACCEPTED, Outcome.ADVISORY) else None
    message = None if outcome is Outcome.PASSED else f"{outcome.label} [{rule}] message with <tags> & 'quotes'"
    return CheckResult(id=f"test_{rule.split('.')[0]}.py::test_{index}[{param}]", outcome=outcome, rule=rule,
                       suite=rule.split(".")[0], summary=f"{rule} holds", severity="fail", message=message,
                       finding=finding, acceptance=acceptance, attempts=draw(st.integers(0, 4)),
                       elapsed_s=0.5, exchanges=())


@st.composite
def runs(draw: st.DrawFn) -> RunResult:
    n = draw(st.integers(0, 12))
    checks = tuple(draw(check_results(i)) for i in range(n))
    fail_on = draw(st.sampled_from(["any", "new"]))
    history = None
    if fail_on == "new" or draw(st.booleans()):
        ids = [c.id for c in checks if c.outcome.bad]
        new = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
        history = {"new_since_last": new, "new_since_last_pass": new, "recovered": [], "ongoing": [], "flaky": [],
                   "accepted": [], "trend": []}
    interrupted = draw(st.sampled_from([None, None, "SIGINT", "SIGTERM"]))
    return RunResult(domain="www.example.test", target="targets/site.yaml", target_name="site", tool="edgeverify t",
                     started_at=1_764_000_000.0, finished_at=1_764_000_003.0, checks=checks,
                     release=Release("build-1", "passed", 1.0), interrupted=interrupted, fail_on=fail_on,
                     history=history)


def expected_exit(run: RunResult) -> ExitCode:
    """The exit status restated from the README's table, independently of model.exit_status."""
    if run.interrupted:
        return ExitCode.INTERRUPTED
    bad = [c for c in run.checks if c.outcome in (Outcome.FAILED, Outcome.COULD_NOT_JUDGE, Outcome.INTERRUPTED)]
    if run.fail_on == "new" and run.history is not None:
        bad = [c for c in bad if c.id in run.history["new_since_last"] or (c.acceptance and c.acceptance.expired)]
    return ExitCode.FAILED if bad else ExitCode.OK


class _Outcomes(HTMLParser):
    """data-check -> data-outcome, and the page's verdict and exit status, from the HTML report."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, str] = {}
        self.verdict = self.exit_status = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-check") is not None and a.get("data-outcome") is not None:
            self.outcomes[a["data-check"]] = a["data-outcome"]
        if a.get("id") == "verdict":
            self.verdict, self.exit_status = a.get("data-verdict"), a.get("data-exit-status")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_every_output_agrees_with_the_exit_status_and_the_outcomes(run: RunResult) -> None:
    status = run.exit_status
    assert status == expected_exit(run)
    by_id = {c.id: c.outcome for c in run.checks}

    # JSON, through the published schema and read back
    doc = json.loads(json.dumps(to_json(run)))
    jsonschema.validate(doc, report_schema())
    assert doc["exit_status"] == int(status) and doc["verdict"] == status.verdict
    assert {c["id"]: c["outcome"] for c in doc["checks"]} == {k: v.value for k, v in by_id.items()}
    assert sum(doc["counts"].values()) == len(run.checks)
    again = from_json(doc)
    assert again.exit_status == status and {c.id: c.outcome for c in again.checks} == by_id

    # JUnit
    suite = ET.fromstring(junit(run)).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["edgeverify.exit_status"] == str(int(status)) and props["edgeverify.verdict"] == status.verdict
    named = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(named) == {junit_name(c) for c in run.checks}  # rule id and subject, then the check's id
    cases = {c.id: named[junit_name(c)] for c in run.checks}
    for cid, outcome in by_id.items():
        children = [e for e in cases[cid] if e.tag in ("failure", "error", "skipped")]
        assert [e.tag for e in children] == ([JUNIT[outcome]] if JUNIT[outcome] else [])
        if children:
            assert children[0].get("type") == outcome.value
    bad = sum(o in (Outcome.COULD_NOT_JUDGE, Outcome.INTERRUPTED) for o in by_id.values())
    assert (suite.get("failures"), suite.get("errors")) == (str(sum(o is Outcome.FAILED for o in by_id.values())),
                                                            str(bad))

    # Markdown, and the CI step summary (the same text, capped)
    for text in (markdown(run), markdown(run, limit=1024 * 1024)):
        first = text.splitlines()[0]
        assert f"{status.verdict} (exit {int(status)})" in first
        assert ("✅" in first) == (status is ExitCode.OK)
        for cid, outcome in by_id.items():
            shown = f"### `{cid}`: {outcome.label}" in text
            assert shown == (outcome in (Outcome.FAILED, Outcome.COULD_NOT_JUDGE, Outcome.INTERRUPTED,
                                         Outcome.ACCEPTED, Outcome.ADVISORY))
        for row in re.findall(r"^\| (\w+) \| (\S+) \|", text, re.M)[1:]:
            suite_outcomes = [o for c, o in by_id.items() if c.startswith(f"test_{row[0]}.py")]
            assert (row[1] == "✅") == (Outcome.PASSED in suite_outcomes and all(
                o in (Outcome.PASSED, Outcome.SKIPPED) for o in suite_outcomes))

    # terminal
    lines = terminal(run)
    assert lines[-1].startswith(f"edgeverify: {run.domain}: {status.verdict}") and f"exit {int(status)}" in lines[-1]
    for cid, outcome in by_id.items():
        if outcome is Outcome.INTERRUPTED:
            assert f"edgeverify: interrupted: {cid}" in lines

    # HTML
    page = _Outcomes()
    page.feed(render_run(doc))
    assert page.verdict == status.verdict and page.exit_status == str(int(status))
    assert page.outcomes == {k: v.value for k, v in by_id.items()}


def test_an_interrupted_check_is_never_shown_as_passed() -> None:
    check = CheckResult(id="test_https.py::test_hsts[/]", outcome=Outcome.INTERRUPTED, rule="https.hsts",
                        suite="https", message="interrupted while retrying; the last answer:\nFAILED [https.hsts] ...")
    run = RunResult(domain="www.example.test", target="t.yaml", target_name="t", tool="t", started_at=0.0,
                    finished_at=1.0, checks=(check,), interrupted="SIGINT")
    assert run.exit_status is ExitCode.INTERRUPTED
    assert "passed" not in junit(run).split("<testcase", 1)[1]
    assert "| https | ⏹️ |" in markdown(run)
    page = _Outcomes()
    page.feed(render_run(to_json(run)))
    assert page.outcomes == {check.id: "interrupted"} and page.verdict == "interrupted"
