"""Deploy skew with the previous release recalled from the run history (no propagation.previous_entry): the first run
records the release it sees and skips, saying why; after a deploy, the recorded release's assets must still load.

The lab serves the previous release's index.html on an edge that has not switched yet (old_release_for=inf), and the
new one elsewhere; its fault previous-release-deleted is `aws s3 sync --delete` (the old-only chunks answer 403)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeverify.history import open_db

ROOT = Path(__file__).resolve().parents[2]
SUITE = str(ROOT / "suites" / "test_propagation.py")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The lab's domain without propagation.previous_entry; the release marker is the build's (as CI passes it)."""
    path = tmp_path / "site.yaml"
    path.write_text("domain: www.example.test\nstatic:\n  pages: [/]\npropagation:\n"
                    "  release_marker: ${SITE_BUILD}\n")
    return path


OLD, NEW = {"SITE_BUILD": "build-2026.11.25-old"}, {"SITE_BUILD": "build-2026.11.25-new"}


def previous(run) -> dict:
    (check,) = [c for c in run.checks if c["rule"] == "propagation.previous_release"]
    return check


def test_history_records_the_release_then_checks_it_after_the_deploy(lab, run_edgeverify, site, tmp_path):
    history = f"sqlite:///{tmp_path / 'history.sqlite'}"

    first = run_edgeverify(lab.edge(old_release_for=float("inf")), SUITE, "--history", history, target=site, env=OLD)
    assert first.returncode == 0, first.output
    check = previous(first)
    assert check["outcome"] == "skipped", check
    assert "declares no propagation.previous_entry" in check["message"]
    assert "has no passing run of this target yet" in check["message"]
    assert [c["outcome"] for c in first.checks if c["rule"] == "propagation.release"] == ["passed"]
    entry = first.doc["release"]["entry"]  # what the run saw: the previous release's entry document
    assert entry["url"] == "https://www.example.test/" and len(entry["sha256"]) == 64
    assert entry["document"].startswith("<!doctype html>") and any("/assets/" in a for a in entry["assets"])

    # deployed correctly (the old assets kept): the previous release still loads
    good = run_edgeverify(lab.edge(), SUITE, "--history", history, target=site, env=NEW)
    assert good.returncode == 0, good.output
    check = previous(good)
    assert check["outcome"] == "passed", check
    assert dict(check["properties"])["previous release"] == "from the run history: run 1 of " + first.doc["started_at"]
    assert good.doc["release"]["entry"]["sha256"] != entry["sha256"]

    # the next deploy ran `aws s3 sync --delete`: the previous release's chunks are gone
    broken = run_edgeverify(lab.edge(["previous-release-deleted"]), SUITE, "--history", history, target=site, env=NEW)
    assert broken.returncode == 1, broken.output
    check = previous(broken)
    assert check["outcome"] == "failed", check
    message = check["message"]
    assert "aws s3 sync --delete" in message and "delete by age" in message  # the diagnosis and the fix
    assert "recalled from the run history" in message and "as run 1 of " + first.doc["started_at"][:19] in message
    assert "403" in message and "curl" in message
    assert all(a in entry["assets"] for a in (x["request"]["url"].removeprefix("https://www.example.test")
                                             for x in broken.exchanges(check) if "/assets/" in x["request"]["url"]))
    with open_db(history) as db:  # one entry document stored per release, whatever the number of runs
        assert db.query("SELECT COUNT(*) FROM entries")[0][0] == 2
        assert db.query("SELECT entry_passed FROM runs ORDER BY started_at") == [(1,), (1,), (1,)]


def test_a_tab_on_the_recorded_previous_release_fails_when_its_files_are_gone(lab, run_edgeverify, site, tmp_path):
    """browser.previous_release opens the entry document the history kept (its text) against today's edge."""
    from edgeverify.browser import chromium_path

    if chromium_path() is None:
        pytest.skip("no Chromium here (Debian: apt-get install chromium)")
    history = f"sqlite:///{tmp_path / 'history.sqlite'}"
    browser = [str(ROOT / "suites" / "test_browser.py"), "-k", "previous_release", "--history", history]
    first = run_edgeverify(lab.edge(old_release_for=float("inf")), SUITE, "--history", history, target=site, env=OLD)
    assert first.returncode == 0 and first.doc["release"]["entry"]["document"], first.output

    # (on the correct lab the same tab loads: the browser suite's correct-lab run, with the declared form)
    broken = run_edgeverify(lab.edge(["previous-release-deleted"]), *browser, target=site, env=NEW)
    assert broken.returncode == 1, broken.output
    (check,) = broken.checks
    assert check["outcome"] == "failed" and check["rule"] == "browser.previous_release", check
    assert "a tab on the previous release:" in check["message"] and "403" in check["message"]
    assert "the previous release: from the run history: run 1 of " + first.doc["started_at"][:19] in check["message"]
    assert "aws s3 sync --delete" in check["cause"] and "recalled from the run history" in check["cause"]
