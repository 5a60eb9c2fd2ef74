"""Four scripted nights of real runs against the lab (good, fault, fault, good), on SQLite and on a real
PostgreSQL server: the first run says first, night 2 new, night 3 ongoing with its first-seen time, night 4
recovered; a known issue by rule id accepts the fault with and without history, an expired one fails; and on
every night the terminal, summary.md, report.html, edgeverify.json and the exit status say the same."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edgeverify.model import Outcome

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "targets" / "local-lab.yaml"
FAULT = "hsts-missing"  # the https suite's HSTS checks fail on every page and error response
RULES = ("https.hsts", "https.hsts_on_errors")  # on pages, on error responses


@dataclass
class Night:
    exit: int
    terminal: str
    doc: dict[str, Any]
    markdown: str
    page: str

    @property
    def history(self) -> dict[str, Any]:
        return self.doc["history"]

    def failing(self) -> list[str]:
        return sorted(c["id"] for c in self.doc["checks"] if c["outcome"] == "failed")


def _night(edge: Any, tmp: Path, name: str, *args: str) -> Night:
    reports = tmp / name
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--target", str(TARGET),
           "--reports-dir", str(reports), "--propagation-timeout=0", *args, "suites/test_https.py"]
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **edge.env()}, capture_output=True, text=True, timeout=120)
    night = Night(proc.returncode, proc.stdout + proc.stderr, json.loads((reports / "edgeverify.json").read_text()),
                  (reports / "summary.md").read_text(), html.unescape((reports / "report.html").read_text()))
    _agree(night)
    return night


def _agree(night: Night) -> None:
    """One exit status and verdict, shown the same by every output."""
    doc, verdict = night.doc, night.doc["verdict"]
    assert doc["exit_status"] == night.exit, night.terminal
    assert f"www.example.test: {verdict}, exit {night.exit}:" in night.terminal
    assert f"{verdict} (exit {night.exit})" in night.markdown.splitlines()[0]
    assert f'data-verdict="{verdict}" data-exit-status="{night.exit}"' in night.page
    for check in doc["checks"]:  # each check's outcome, as every report names it
        if check["outcome"] in ("failed", "accepted"):
            assert f"`{check['id']}`: {Outcome(check['outcome']).label}" in night.markdown, check["id"]
            assert check["id"] in night.page and f'data-outcome="{check["outcome"]}"' in night.page


def _known(tmp: Path, expires: str) -> str:
    path = tmp / f"known-{expires}.yaml"
    path.write_text("known_issues:\n" + "".join(
        f"  - rule: {rule}\n    reason: HSTS policy not yet on every behavior (PLAT-9)\n    owner: web-platform\n"
        f"    expires: {expires}\n" for rule in RULES))
    return str(path)


def test_four_nights_then_known_issues_agree_everywhere(lab, db_url, tmp_path):
    good, bad = lab.edge(), lab.edge(faults=[FAULT])
    history = f"--history={db_url}"

    first = _night(good, tmp_path, "n1", history)
    assert first.exit == 0 and first.history["first_run"] is True
    assert "edgeverify: history: first recorded run of this target" in first.terminal
    assert "First recorded run of this target" in first.markdown and 'id="first-run"' in first.page

    second = _night(bad, tmp_path, "n2", history)
    failing = second.failing()
    assert second.exit == 1 and failing and all(c["rule"] in RULES for c in second.doc["checks"] if c["id"] in failing)
    assert second.history["first_run"] is False and second.history["new_since_last"] == failing
    assert f"edgeverify: history: {len(failing)} new since the last run: {failing[0]}" in second.terminal
    assert "- New since the last run: " + ", ".join(f"`{c}`" for c in failing) in second.markdown
    assert all("new since last run" in second.page and c in second.page for c in failing)

    third = _night(bad, tmp_path, "n3", history)
    since = second.doc["started_at"]
    assert third.exit == 1 and third.history["new_since_last"] == []
    assert third.history["ongoing"] == [{"id": c, "first_seen": since} for c in failing]
    assert f"edgeverify: history: {len(failing)} ongoing: {failing[0]} (since {since})" in third.terminal
    assert f"`{failing[0]}` (since {since})" in third.markdown and f"first seen {since}" in third.page

    fourth = _night(good, tmp_path, "n4", history)
    assert fourth.exit == 0 and fourth.history["recovered"] == failing and fourth.history["ongoing"] == []
    assert f"edgeverify: history: {len(failing)} recovered: {failing[0]}" in fourth.terminal
    assert "- Recovered: " + ", ".join(f"`{c}`" for c in failing) in fourth.markdown

    # a known issue by rule id accepts the fault, with the history and without one
    for name, where in (("k-history", history), ("k-off", "--history=off")):
        accepted = _night(bad, tmp_path, name, where, f"--known-issues={_known(tmp_path, '2099-12-31')}")
        assert accepted.exit == 0, accepted.terminal
        assert sorted(c["id"] for c in accepted.doc["checks"] if c["outcome"] == "accepted") == failing
        assert f"edgeverify: accepted (known issue): {RULES[0]}[/]: accepted until 2099-12-31" in accepted.terminal
        assert "accepted until 2099-12-31" in accepted.terminal
        assert "## Accepted known issues" in accepted.markdown and "accepted until 2099-12-31" in accepted.page
        assert (accepted.doc["history"] is None) == (where == "--history=off")

    expired = _night(bad, tmp_path, "k-expired", history, f"--known-issues={_known(tmp_path, '2020-01-31')}")
    assert expired.exit == 1 and expired.failing() == failing
    note = "accepted until 2020-01-31, expired"
    assert f"{RULES[0]}[/]: {note}" in expired.terminal
    assert note in expired.markdown and note in expired.page
    assert all(note in (c["acceptance"] or {}).get("note", note) for c in expired.doc["checks"] if c["id"] in failing)


@pytest.fixture(autouse=True)
def _lab_needs_nginx(lab):  # the session lab fixture skips or fails with the reason when nginx is missing
    yield
