"""Reports: JUnit, JSON and Markdown written for every run, also a failing or an interrupted one."""

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"


def test_failing_run_writes_junit_json_and_markdown(lab, run_edgeverify, tmp_path):
    run = run_edgeverify(lab.edge(faults=["hsts-short"]), "suites/test_https.py", "--junitxml", str(tmp_path / "j.xml"))
    assert run.returncode == 1
    cases = ET.parse(tmp_path / "j.xml").getroot().iter("testcase")
    failures = {c.get("name").rsplit(": ", 1)[-1]: c.find("failure") for c in cases}  # "RULE[SUBJECT]: ID"
    assert failures["test_https.py::test_hsts_on_every_page[/]"] is not None
    assert "FAILED [https.hsts]" in failures["test_https.py::test_hsts_on_every_page[/]"].get("message", "") + \
        (failures["test_https.py::test_hsts_on_every_page[/]"].text or "")
    hsts = [c for c in run.checks if c["rule"] == "https.hsts"]
    assert hsts and all(c["outcome"] == "failed" and c["attempts"] == 1 for c in hsts)
    first = run.exchanges(hsts[0])[0]
    assert first["x_cache"] and first["curl"].startswith("curl ")  # a failing check keeps its curl line
    passing = [c for c in run.checks if c["outcome"] == "passed" and c["exchanges"]]
    lean = [run.doc["exchanges"][ref] for c in passing for ref in c["exchanges"]
            if all(ref not in f["exchanges"] for f in run.checks if f["outcome"] == "failed")]
    assert lean and all(ex["body_excerpt"] is None and ex["headers"] for ex in lean)  # lean evidence


def test_markdown_summary_reads_as_a_ci_job_summary(lab, tmp_path):
    reports = tmp_path / "reports"
    env = {**os.environ, **lab.edge(faults=["cors-allow-null"]).env(), "GITHUB_STEP_SUMMARY": str(tmp_path / "step.md")}
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--target", str(LAB_TARGET),
                    "--reports-dir", str(reports), "suites/test_cors.py", "--propagation-timeout=0"],
                   cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    md = (reports / "summary.md").read_text()
    assert md.startswith("# edgeverify: www.example.test — ❌ failed (exit 1)")
    assert "| cors |" in md and "## Failures" in md and "FAILED [cors.refuses_foreign]" in md
    assert "Release `build-2026.11.25-new`: served after" in md
    assert (tmp_path / "step.md").read_text() == md  # appended to the CI job summary


def _sigint_default() -> None:
    """Background jobs of a non-interactive shell start with SIGINT ignored; a person's Ctrl-C is not."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupted_run_still_writes_its_reports(lab, tmp_path):
    reports = tmp_path / "reports"
    env = {**os.environ, **lab.edge(old_release_for=float("inf")).env()}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--target", str(LAB_TARGET),
                             "--reports-dir", str(reports), "suites/test_https.py", "--propagation-timeout=60"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=_sigint_default)
    assert proc.stdout is not None
    for line in iter(proc.stdout.readline, ""):  # until the run waits for the release
        if "edgeverify: waiting for release" in line:
            break
    time.sleep(1)  # ... and is waiting for a release that never comes
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2, out
    doc = json.loads((reports / "edgeverify.json").read_text())
    assert doc["exit_status"] == 2
    assert (reports / "summary.md").read_text().startswith("# edgeverify: www.example.test — ⏹️ interrupted (exit 2)")


def test_insecure_runs_say_so_everywhere(lab, run_edgeverify, tmp_path):
    run = run_edgeverify(lab.edge(), "suites/test_https.py", "--insecure", "-k", "hsts")
    assert run.returncode == 0, run.output[-3000:]
    assert "WARNING: TLS VERIFICATION IS OFF" in run.output


def _started(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    for line in iter(proc.stdout.readline, ""):
        if "edgeverify: waiting for release" in line:
            break
    time.sleep(1)


@pytest.mark.parametrize("how", ["SIGTERM to pytest", "SIGTERM to lab run", "SIGINT to the process group"])
def test_every_way_of_stopping_a_run_still_writes_reports(how, tmp_path):
    reports = tmp_path / "reports"
    pytest_cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--target", str(LAB_TARGET),
                  "--reports-dir", str(reports), str(ROOT / "suites"), "--propagation-timeout=60"]
    lab_cmd = [sys.executable, "-m", "edgeverify.cli", "lab", "run", "--old-release-for", "inf", "--", *pytest_cmd]
    proc = subprocess.Popen(lab_cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=_sigint_default)
    _started(proc)
    children = subprocess.run(["pgrep", "-f", "-s", str(proc.pid), "pytest"], capture_output=True,
                              text=True).stdout.split()
    pytest_pid = next(int(pid) for pid in children if int(pid) != proc.pid)
    if how == "SIGTERM to pytest":
        os.kill(pytest_pid, signal.SIGTERM)
    elif how == "SIGTERM to lab run":
        os.kill(proc.pid, signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    doc = json.loads((reports / "edgeverify.json").read_text())
    assert doc["exit_status"] == 2, out[-2000:]
    assert {c["outcome"] for c in doc["checks"]} <= {"interrupted", "skipped"}  # nothing judged: nothing passed
    assert (reports / "summary.md").read_text().startswith("# edgeverify: www.example.test — ⏹️ interrupted (exit 2)")
    assert "Traceback" not in out, out[-3000:]
    for _ in range(50):  # the lab's nginx and origins are gone: nothing is left in the run's session
        if subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True).returncode == 1:
            break
        time.sleep(0.1)
    assert subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout == ""


def test_the_runs_own_deadline_ends_it_with_reports(lab, tmp_path):
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--target", str(LAB_TARGET),
                           "--reports-dir", str(reports), str(ROOT / "suites"), "--propagation-timeout=600",
                           "--run-timeout=4"], cwd=tmp_path, env={**os.environ, **lab.edge(old_release_for=float("inf")).env()},
                          capture_output=True, text=True, timeout=120)
    # propagation alone would wait 600 s (beyond the 120 s guard): the run's 4 s deadline is what ended it
    doc = json.loads((reports / "edgeverify.json").read_text())
    assert proc.returncode == 1, proc.stdout[-2000:]
    gated = [c for c in doc["checks"] if c["outcome"] == "could_not_judge"]
    reasons = ("release gate failed", "the run's deadline")  # judged by the gate, or not run at all after it
    assert gated and all(any(r in c["message"] for r in reasons) for c in gated), gated[:1]
    assert any("release gate failed" in c["message"] for c in gated)
    assert doc["release"]["gate"] == "failed" and "build-2026.11.25-old" in doc["release"]["reason"]
    assert set(doc["suites"]) >= {"static", "cors", "spa", "cache", "api", "https"}  # every suite keeps its row
