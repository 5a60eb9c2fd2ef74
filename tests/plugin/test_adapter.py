"""pytest as a thin adapter: selection, exit codes, known issues, --fail-on, -n and interrupts, on scripted answers.

Each test writes a target, a conftest.py whose `pytest_edgeverify_transport` hook returns a ReplayTransport
(scripted answers, no sockets), and a few checks written like the suites', then runs pytest on them.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

TARGET = """\
domain: www.example.test
static:
  pages: [/]
propagation:
  timeout: 0
  interval: 1
  max_interval: 1
"""

CONFTEST = """\
from edgeverify.transport import Answer, ReplayTransport

HSTS = {hsts!r}
DELAY = {delay!r}


def script(asked):
    headers = [("content-type", "text/html"), ("cache-control", "no-cache")]
    if HSTS:
        headers.append(("strict-transport-security", "max-age=63072000"))
    if asked.path.startswith("/api/"):
        return Answer(404, (("content-type", "application/json"),), b'{{"message":"Not Found"}}')
    return Answer(200, tuple(headers), b"<html><title>app</title></html>", delay_s=DELAY)


def pytest_edgeverify_transport(target, deadline):
    return ReplayTransport(target, script)
"""

CHECKS = """\
import pytest

from edgeverify.rules import api, https


@pytest.mark.rule("https.hsts")
def test_hsts(edge, target, page):
    https.check_hsts(edge.fetch(page), target.https.hsts_min_max_age)


@pytest.mark.rule("api.unknown_route")
def test_unknown_route(edge, target):
    api.check_unknown_route(edge.get(target.api.probe_path))


@pytest.mark.rule("https.hsts_on_errors")
def test_skipped(edge):
    pytest.skip("nothing to judge here")
"""


def make(pytester: pytest.Pytester, *, hsts: bool = True, delay: float = 0.0, target: str = TARGET) -> Path:
    pytester.makeconftest(CONFTEST.format(hsts=hsts, delay=delay))
    pytester.makepyfile(test_checks=CHECKS)
    path = pytester.path / "site.yaml"
    path.write_text(target)
    return path


def run(pytester: pytest.Pytester, target: Path, *args: str) -> tuple[pytest.RunResult, dict, ET.Element]:
    reports = pytester.path / "reports"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--target={target}", f"--reports-dir={reports}",
                                "--history=off", *args, "test_checks.py")
    doc = json.loads((reports / "edgeverify.json").read_text())
    return result, doc, ET.parse(reports / "junit.xml").getroot()


def outcomes(doc: dict) -> dict[str, str]:
    return {c["rule"]: c["outcome"] for c in doc["checks"]}


def test_a_good_edge_passes_and_every_output_says_so(pytester):
    result, doc, junit = run(pytester, make(pytester))
    assert result.ret == 0
    result.assert_outcomes(passed=2, skipped=1)
    assert outcomes(doc) == {"https.hsts": "passed", "api.unknown_route": "passed", "https.hsts_on_errors": "skipped"}
    assert doc["exit_status"] == 0 and doc["verdict"] == "passed"
    suite = junit.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("3", "0", "0", "1")
    result.stdout.fnmatch_lines(["edgeverify: www.example.test: passed, exit 0: 2 passed, 1 skipped"])


def test_a_failing_check_fails_the_run_with_its_finding_and_no_traceback(pytester):
    result, doc, junit = run(pytester, make(pytester, hsts=False))
    assert result.ret == 1
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["FAILED [[]https.hsts[]]*", "  Expected:*", "  Actual:*without Strict-Transport*",
                                 "  Reproduce: curl *"])
    assert "Traceback" not in result.stdout.str()
    assert outcomes(doc)["https.hsts"] == "failed" and doc["exit_status"] == 1
    failure = junit.find("testsuite/testcase/failure")
    assert failure is not None and "Strict-Transport-Security" in failure.text


def test_k_selects_rules_and_a_selection_of_nothing_is_bad_input(pytester):
    target = make(pytester, hsts=False)
    result, doc, _ = run(pytester, target, "-k", "api.unknown_route")
    assert result.ret == 0 and [c["rule"] for c in doc["checks"]] == ["api.unknown_route"]
    nothing = pytester.runpytest("-p", "no:cacheprovider", f"--target={target}", "-k", "no_such_rule",
                                 f"--reports-dir={pytester.path / 'r2'}", "test_checks.py")
    assert nothing.ret == 4
    nothing.stdout.fnmatch_lines(["*no check was selected by -k 'no_such_rule'*"])


def test_n_runs_the_target_in_one_process(pytester):
    result, doc, _ = run(pytester, make(pytester, hsts=False), "-n", "2")
    assert result.ret == 1
    assert "bringing up nodes" not in result.stdout.str()  # no xdist worker: the checks already run concurrently
    assert outcomes(doc)["https.hsts"] == "failed"


KNOWN = """\
known_issues:
  - rule: https.hsts
    item: "*hsts*"
    reason: HSTS lands with the next release
    owner: web-platform
    expires: {expires}
"""


def test_an_accepted_known_issue_passes_the_run_and_says_so_everywhere(pytester):
    target = make(pytester, hsts=False)
    known = pytester.path / "known.yaml"
    known.write_text(KNOWN.format(expires="2999-12-31"))
    result, doc, junit = run(pytester, target, f"--known-issues={known}")
    assert result.ret == 0
    result.assert_outcomes(passed=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["edgeverify: accepted (known issue): *hsts*: accepted until 2999-12-31*"])
    assert outcomes(doc)["https.hsts"] == "accepted" and doc["verdict"] == "passed"
    summary = (pytester.path / "reports" / "summary.md").read_text()
    assert "✅ passed (exit 0)" in summary and "## Accepted known issues" in summary and "❌" not in summary
    assert junit.find("testsuite").get("failures") == "0"
    html = (pytester.path / "reports" / "report.html").read_text()
    assert 'data-verdict="passed"' in html and 'data-outcome="accepted"' in html


def test_an_expired_known_issue_fails_the_run(pytester):
    target = make(pytester, hsts=False)
    known = pytester.path / "known.yaml"
    known.write_text(KNOWN.format(expires="2020-01-01"))
    result, doc, _ = run(pytester, target, f"--known-issues={known}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["edgeverify: FAILED: *hsts*: accepted until 2020-01-01, expired*"])
    check = next(c for c in doc["checks"] if c["rule"] == "https.hsts")
    assert check["outcome"] == "failed" and check["acceptance"]["expired"] is True


def test_fail_on_new_passes_an_ongoing_failure_and_fails_a_new_one(pytester):
    target = make(pytester, hsts=False)
    history = f"sqlite:///{pytester.path / 'h.sqlite'}"
    reports = pytester.path / "reports"
    base = ["-p", "no:cacheprovider", f"--target={target}", f"--reports-dir={reports}", f"--history={history}",
            "--fail-on=new", "test_checks.py"]
    first = pytester.runpytest(*base)
    assert first.ret == 1  # new: no earlier run had it
    second = pytester.runpytest(*base)
    assert second.ret == 0  # ongoing
    doc = json.loads((reports / "edgeverify.json").read_text())
    assert doc["exit_status"] == 0 and doc["fail_on"] == "new" and outcomes(doc)["https.hsts"] == "failed"
    assert "--fail-on new" in (reports / "summary.md").read_text()


SLOW_TARGET = TARGET.replace("timeout: 0", "timeout: 60")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("workers", ["0", "2"])
def test_an_interrupt_mid_retry_shows_the_retrying_check_as_interrupted_everywhere(pytester, signum, workers):
    target = make(pytester, hsts=False, target=SLOW_TARGET)
    reports = pytester.path / "reports"
    proc = pytester.popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--target={target}",
                           f"--reports-dir={reports}", "--history=off", "-n", workers, "test_checks.py"],
                          stdin=subprocess_devnull())
    seen = _wait_for(proc, b"failing after try 1")
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    out = seen + out
    assert proc.returncode == 2, out.decode()
    doc = json.loads((reports / "edgeverify.json").read_text())
    assert outcomes(doc) == {"https.hsts": "interrupted", "api.unknown_route": "passed",
                             "https.hsts_on_errors": "skipped"}
    assert doc["verdict"] == "interrupted" and doc["interrupted"] == signal.Signals(signum).name
    junit = ET.parse(reports / "junit.xml").getroot()
    error = junit.find("testsuite/testcase/error")
    assert error is not None and error.get("type") == "interrupted"
    summary = (reports / "summary.md").read_text()
    assert "⏹️ interrupted (exit 2)" in summary and "✅" not in summary.split("| https |")[1].split("\n")[0]
    assert b"edgeverify: www.example.test: interrupted" in out


def subprocess_devnull():
    import subprocess

    return subprocess.DEVNULL


def _wait_for(proc, needle: bytes, timeout: float = 30.0) -> bytes:
    """Read the child's output until `needle` shows (the run is then retrying); what was read."""
    import os
    import select

    seen = b""
    until = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while needle not in seen:
        left = until - time.monotonic()
        assert left > 0, f"{needle!r} never showed:\n{seen.decode()}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the run ended before {needle!r}:\n{seen.decode()}"
            seen += chunk
    return seen


FLEET_CONFTEST = """\
from edgeverify.transport import Answer, ReplayTransport


def script(asked):
    headers = [("content-type", "text/html")]
    if "//bad." not in asked.url:
        headers.append(("strict-transport-security", "max-age=63072000"))
    if asked.path.startswith("/api/"):
        return Answer(404, (("content-type", "application/json"),), b'{"message":"Not Found"}')
    return Answer(200, tuple(headers), b"<html><title>app</title></html>")


def pytest_edgeverify_transport(target, deadline):
    return ReplayTransport(target, script)
"""


def test_several_targets_run_in_one_session_with_a_report_each_and_one_combined(pytester):
    pytester.makeconftest(FLEET_CONFTEST)
    pytester.makepyfile(test_checks=CHECKS)
    paths = []
    for name in ("good", "bad"):
        path = pytester.path / f"{name}.yaml"
        path.write_text(TARGET.replace("www.example.test", f"{name}.example.test").replace(
            "pages: [/]", "pages: [/, /pricing]"))
        paths.append(f"--target={path}")
    reports = pytester.path / "reports"
    result = pytester.runpytest("-p", "no:cacheprovider", *paths, f"--reports-dir={reports}", "--history=off",
                                "test_checks.py")
    assert result.ret == 1
    result.assert_outcomes(passed=4, failed=2, skipped=2)  # good: hsts on two pages, the unknown route; bad: the route
    bad = json.loads((reports / "bad.example.test" / "edgeverify.json").read_text())
    good = json.loads((reports / "good.example.test" / "edgeverify.json").read_text())
    assert good["exit_status"] == 0 and bad["exit_status"] == 1
    # a check's id is the same in a fleet as alone: no domain in it
    assert sorted(c["id"] for c in bad["checks"]) == sorted(c["id"] for c in good["checks"]) == [
        "test_checks.py::test_hsts[/]", "test_checks.py::test_hsts[/pricing]", "test_checks.py::test_skipped",
        "test_checks.py::test_unknown_route"]
    assert {c["id"]: c["outcome"] for c in bad["checks"]}["test_checks.py::test_hsts[/pricing]"] == "failed"
    suites = ET.parse(reports / "junit.xml").getroot().findall("testsuite")
    assert [(s.get("name"), s.get("failures")) for s in suites] == [("good.example.test", "0"),
                                                                    ("bad.example.test", "2")]
    summary = (reports / "summary.md").read_text()
    assert "1 of 2 not passed" in summary and "bad.example.test" in summary
    result.stdout.fnmatch_lines(["edgeverify: bad.example.test: failed, exit 1:*",
                                 "edgeverify: 2 targets: failed, exit 1: 1 passed, 1 not passed"])


def test_a_known_issue_names_a_rule_and_a_subject_and_one_matching_nothing_is_said(pytester):
    target = make(pytester, hsts=False, target=TARGET.replace("pages: [/]", "pages: [/, /pricing]"))
    known = pytester.path / "known.yaml"
    known.write_text("known_issues:\n"
                     "  - {rule: https.hsts, item: /pricing, reason: r, owner: o, expires: 2999-12-31}\n"
                     "  - {rule: cache.api_not_cached, item: '/api/*', reason: r, owner: o, expires: 2999-12-31}\n")
    result, doc, _ = run(pytester, target, f"--known-issues={known}")
    outcome = {c["key"]: c["outcome"] for c in doc["checks"]}
    assert outcome["https.hsts[/pricing]"] == "accepted" and outcome["https.hsts[/]"] == "failed"
    assert result.ret == 1  # the other page still fails
    result.stdout.fnmatch_lines(["edgeverify: accepted (known issue): https.hsts[[]/pricing[]]: accepted until *",
                                 "edgeverify: WARNING: known issue *known.yaml, line 3: rule cache.api_not_cached, "
                                 "item '/api/*' matches no check of this run"])
    assert doc["warnings"] and "matches no check" in (pytester.path / "reports" / "summary.md").read_text()

