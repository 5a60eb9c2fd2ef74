"""`edgeverify run --notify URL` (apprise) over three nights against the lab, with the run history kept between
them: a failing night sends one message (the failing rule, its likely cause, the report link), a night that
fails the same way sends none, the recovery sends one. A secret the target sends never reaches the message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("apprise")

from edgeverify.model import Acceptance, CheckResult, Finding, Outcome, RunResult  # noqa: E402
from edgeverify.notify import EVENTS, changes, message, notify, parse_events  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"
SECRET = "s3cr3t-notify-7f1c2a"


def night(lab, tmp_path: Path, faults: list[str], hook: str) -> subprocess.CompletedProcess[str]:
    edge = lab.edge(faults=faults)
    target = tmp_path / "site.yaml"
    target.write_text(LAB_TARGET.read_text() + f"\nconnect_to: {json.dumps(edge.connect_to)}\nca_bundle: {edge.ca_bundle}\n"
                      "headers: {X-Api-Key: '${EV_NOTIFY_SECRET}'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEVERIFY_", "GITHUB_"))}
    env.update(EV_NOTIFY_SECRET=SECRET, EDGEVERIFY_NOTIFY=hook)  # the URL from the environment, as CI passes a secret
    return subprocess.run([sys.executable, "-m", "edgeverify.cli", "run", str(target), "--suite", "https",
                           "--history", f"sqlite:///{tmp_path / 'history.sqlite'}", "--propagation-timeout", "0",
                           "--reports-dir", str(tmp_path / "reports"), "--report-url", "https://ci.example.test/run/1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_a_failing_night_notifies_once_a_repeat_never_a_recovery_once(lab, tmp_path, receiver):
    hook = f"json://127.0.0.1:{receiver.port}/hook"
    first = night(lab, tmp_path, ["hsts-short"], hook)
    assert first.returncode == 1 and "--notify: json:// notified" in first.stderr, first.stderr
    assert str(receiver.port) not in first.stderr + first.stdout  # the URL (its tokens) is never printed
    (sent,) = receiver.json()
    assert "new failure" in sent["title"] and "www.example.test" in sent["title"]
    assert "New failure: `https.hsts[" in sent["message"] and "Report: https://ci.example.test/run/1" in sent["message"]
    assert "response headers policy" in sent["message"].lower() or "strict-transport-security" in sent["message"].lower()

    second = night(lab, tmp_path, ["hsts-short"], hook)
    assert second.returncode == 1 and "nothing changed since the last run" in second.stderr, second.stderr
    assert len(receiver.got) == 1

    third = night(lab, tmp_path, [], hook)
    assert third.returncode == 0, third.stdout + third.stderr
    assert len(receiver.got) == 2
    recovered = receiver.json()[1]
    assert "recovered" in recovered["title"] and "Recovered: `" in recovered["message"]
    for _, _, body in receiver.got:
        assert SECRET.encode() not in body


def _run(checks: tuple[CheckResult, ...], history: dict | None) -> RunResult:
    return RunResult(domain="www.example.com", target="t.yaml", target_name="t", tool="edgeverify", started_at=0,
                     finished_at=1, checks=checks, history=history)


def test_expired_known_issues_and_the_events_chosen():
    expired = CheckResult(id="h", outcome=Outcome.FAILED, rule="https.hsts", key="https.hsts[/]",
                          finding=Finding("a", "b", "the response headers policy sends no HSTS", None),
                          acceptance=Acceptance("waiting for the CDN change", "web team", "2026-01-31", True))
    old = CheckResult(id="c", outcome=Outcome.FAILED, rule="cors.x", key="cors.x", message="still failing")
    run = _run((expired, old), {"first_run": False, "new_since_last": [], "recovered": ["s"]})
    found = changes(run)
    assert found.expired == (expired,) and found.new == () and found.recovered == ("s",)
    title, body = message([found], EVENTS, None)
    assert "1 expired known issue" in title and "Known issue expired 2026-01-31: `https.hsts[/]`" in body
    assert "cors.x" not in body  # an old failure is no news
    assert not changes(_run((old,), {"first_run": False, "new_since_last": [], "recovered": []})).of(EVENTS)
    assert notify([_run((old,), {"first_run": False, "new_since_last": [], "recovered": []})],
                  ["json://127.0.0.1:9/x"]) == ["--notify: nothing changed since the last run; no notification sent"]
    assert parse_events("recovered") == ("recovered",)
    assert not found.of(("new",))
