"""Reports: JUnit, JSON and Markdown written for every run, also a failing or an interrupted one."""

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"


def test_failing_run_writes_junit_json_and_markdown(lab, run_edgeverify, tmp_path):
    run = run_edgeverify(lab.edge(faults=["hsts-short"]), "suites/test_https.py", "--junitxml", str(tmp_path / "j.xml"))
    assert run.returncode == 1
    cases = ET.parse(tmp_path / "j.xml").getroot().iter("testcase")
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert failures["test_hsts_on_every_page[/]"] is not None
    assert "FAILED [https.hsts]" in failures["test_hsts_on_every_page[/]"].get("message", "") + \
        (failures["test_hsts_on_every_page[/]"].text or "")
    hsts = [c for c in run.checks if c["rule"] == "https.hsts"]
    assert hsts and all(c["status"] == "failed" and c["attempts"] == 1 for c in hsts)
    first = run.exchanges(hsts[0])[0]
    assert first["x_cache"] and first["curl"].startswith("curl ")  # a failing check keeps its curl line
    passing = [c for c in run.checks if c["status"] == "passed" and c["exchanges"]]
    lean = [run.doc["exchanges"][ref] for c in passing for ref in c["exchanges"]
            if all(ref not in f["exchanges"] for f in run.checks if f["status"] == "failed")]
    assert lean and all(ex["body_excerpt"] is None and ex["headers"] for ex in lean)  # lean evidence


def test_markdown_summary_reads_as_a_ci_job_summary(lab, tmp_path):
    reports = tmp_path / "reports"
    env = {**os.environ, **lab.edge(faults=["cors-allow-null"]).env(), "GITHUB_STEP_SUMMARY": str(tmp_path / "step.md")}
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--target", str(LAB_TARGET),
                    "--reports-dir", str(reports), "suites/test_cors.py", "--propagation-timeout=0"],
                   cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    md = (reports / "summary.md").read_text()
    assert md.startswith("# edgeverify: www.example.test — ❌ failing")
    assert "| cors |" in md and "## Failures" in md and "FAILED [cors.refuses_foreign]" in md
    assert "Release `build-2026.11.25-new`: served after" in md
    assert (tmp_path / "step.md").read_text() == md  # appended to the CI job summary


def test_interrupted_run_still_writes_its_reports(lab, tmp_path):
    reports = tmp_path / "reports"
    env = {**os.environ, **lab.edge(old_release_for=float("inf")).env()}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--target", str(LAB_TARGET),
                             "--reports-dir", str(reports), "suites/test_https.py", "--propagation-timeout=60"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(3)  # waiting for a release that never comes
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2, out
    doc = json.loads((reports / "edgeverify.json").read_text())
    assert doc["exit_status"] == 2
    assert (reports / "summary.md").read_text().startswith("# edgeverify: www.example.test — ⚠️ interrupted")


def test_insecure_runs_say_so_everywhere(lab, run_edgeverify, tmp_path):
    run = run_edgeverify(lab.edge(), "suites/test_https.py", "--insecure", "-k", "hsts")
    assert run.returncode == 0
    assert "WARNING: TLS VERIFICATION IS OFF" in run.output
