"""The browser suite against the lab: one Chromium per run, timings beside every check, a failure's screenshot on
disk and its failing request as curl-reproducible evidence, and a clear skip where there is no Chromium.
(Which fault each browser rule catches: tests/lab/catches_browser.py, run by the fault matrix.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeverify.browser import chromium_path

ROOT = Path(__file__).resolve().parents[2]
SUITE = str(ROOT / "suites" / "test_browser.py")


@pytest.fixture(scope="module", autouse=True)
def chromium():
    if chromium_path() is None:
        pytest.skip("no Chromium here (Debian: apt-get install chromium)")


def test_correct_lab_passes_with_timings_from_one_chromium(lab, run_edgeverify):
    run = run_edgeverify(lab.edge(), SUITE)
    assert run.returncode == 0, run.output
    assert {c["outcome"] for c in run.checks} == {"passed"} and len(run.checks) == 16  # 3 pages x 5 rules + previous tab
    props = [dict(c["properties"]) for c in run.checks if c["rule"] != "browser.previous_release"]  # its document
    assert all(float(p["ttfb_ms"]) >= 0 and float(p["fcp_ms"]) > 0 and float(p["ready_ms"]) > 0 for p in props)
    assert len({dict(c["properties"])["chromium"] for c in run.checks}) == 1, "one Chromium for every check's page"
    assert all("screenshot" not in p for p in props)


def test_a_failure_carries_its_screenshot_and_the_failing_request(lab, run_edgeverify):
    run = run_edgeverify(lab.edge(["route-chunk-html"]), SUITE)
    assert run.returncode == 1, run.output
    failed = [c for c in run.checks if c["rule"] == "browser.subresources"]
    assert failed and all(c["outcome"] == "failed" for c in failed)
    shot = Path(dict(failed[0]["properties"])["screenshot"])
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(shot) in failed[0]["message"]
    page = (shot.parent.parent / "report.html").read_text()  # the HTML report shows it, linked relative to itself
    assert f'<img src="browser/{shot.name}"' in page
    # the page's document (fetched whole over HTTP first) and the failing request, fetched again
    (exchange,) = [x for x in run.exchanges(failed[0]) if "/assets/route." in x["request"]["url"]]
    assert "text/html" in str(exchange["headers"]) and exchange["curl"].startswith("curl ")
    assert [c["outcome"] for c in run.checks if c["rule"] in ("browser.csp", "browser.mixed_content")] == ["passed"] * 6


def test_without_chromium_the_suite_is_skipped_saying_why(lab, run_edgeverify):
    run = run_edgeverify(lab.edge(), SUITE, env={"EDGEVERIFY_CHROMIUM": "/nonexistent/chromium"})
    assert run.returncode == 0, run.output
    assert {c["outcome"] for c in run.checks} == {"skipped"}
    assert all("no Chromium found" in c["message"] for c in run.checks)


def test_the_browser_verifies_the_certificate_through_the_trusted_ca(lab):
    """The lab CA is trusted through the NSS database, not by turning verification off: an edge whose certificate
    another CA signed is refused, the correct edge is loaded."""
    from edgeverify.browser import Browser
    from edgeverify.target import Target

    def first_load(edge):
        target = Target(domain="www.example.test", connect_to=edge.connect_to, ca_bundle=edge.ca_bundle)
        browser = Browser(target, None, deadline=float("inf"))
        try:
            return browser.load("/")
        finally:
            browser.close()

    good = first_load(lab.edge())
    assert good.status == 200 and good.error is None
    bad = first_load(lab.edge(["cert-untrusted"]))
    assert bad.status is None and "ERR_CERT_AUTHORITY_INVALID" in (bad.error or "")


def test_a_page_showing_a_secret_gets_no_screenshot(lab, tmp_path):
    """An image cannot be redacted: when the troubled page's text holds a secret value, no screenshot is written
    and the check says why; the same page without the secret gets its screenshot."""
    from edgeverify.browser import Browser
    from edgeverify.redact import register_secret, secrets_scope
    from edgeverify.target import Target

    edge = lab.edge(["route-chunk-html"])  # the page loads, then a chunk fails: a screenshot is due

    def load(shots: Path):
        target = Target(domain="www.example.test", connect_to=edge.connect_to, ca_bundle=edge.ca_bundle)
        browser = Browser(target, shots, deadline=float("inf"))
        try:
            return browser.load("/")
        finally:
            browser.close()

    plain = load(tmp_path / "plain")
    assert plain.troubled and plain.screenshot and Path(plain.screenshot).is_file()
    with secrets_scope():
        register_secret("Example app", "SITE_NAME")  # as if the page showed a value from ${SITE_NAME}
        secret = load(tmp_path / "secret")
    assert secret.troubled and secret.screenshot is None
    assert not list((tmp_path / "secret").rglob("*.png"))
    assert ("screenshot_withheld", "the page shows a secret value (a ${VAR} of the target)") in secret.properties()


def test_a_tab_on_the_previous_release_fails_when_the_deploy_deleted_its_files(lab, run_edgeverify):
    """Deploy skew seen from the browser: the previous release's index.html (still open in tabs, still served by
    edges not yet converged), opened against an edge whose deploy ran `aws s3 sync --delete`, cannot load its files."""
    run = run_edgeverify(lab.edge(["previous-release-deleted"]), SUITE)
    assert run.returncode == 1, run.output
    (check,) = [c for c in run.checks if c["rule"] == "browser.previous_release"]
    assert check["outcome"] == "failed" and "a tab on the previous release:" in check["message"]
    assert "aws s3 sync --delete" in check["message"] and "-> 403" in check["message"]
    assert {c["outcome"] for c in run.checks if c["rule"] != "browser.previous_release"} == {"passed"}
