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
    # 3 pages x 5 rules + the previous release's tab + the service worker's handover
    assert {c["outcome"] for c in run.checks} == {"passed"} and len(run.checks) == 17
    props = [dict(c["properties"]) for c in run.checks if c["rule"] != "browser.previous_release"]  # its document
    assert all(float(p["ttfb_ms"]) >= 0 and float(p["fcp_ms"]) > 0 and float(p["ready_ms"]) > 0 for p in props)
    assert len({dict(c["properties"])["chromium"] for c in run.checks}) == 1, "one Chromium for every check's page"
    assert all("screenshot" not in p for p in props)
    assert all("har" not in c for c in run.checks)  # only a check that did not pass carries its failing requests
    (worker,) = [dict(c["properties"]) for c in run.checks if c["rule"] == "browser.service_worker"]
    assert worker["service_worker"] == "https://www.example.test/sw.js"
    assert worker["handover"] == "navigations after the deploy got the release: current (worker)"  # network-first


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


def test_a_service_worker_that_keeps_the_previous_release_fails_with_its_diagnosis(lab, run_edgeverify):
    """sw-stale: the worker serves index.html cache-first from a cache no release clears, and sw.js is cached a year.
    The played deploy leaves the tab on the release before in every navigation; both causes are named."""
    run = run_edgeverify(lab.edge(["sw-stale"]), SUITE, "-k", "service_worker")
    assert run.returncode == 1, run.output
    (check,) = run.checks
    assert check["outcome"] == "failed" and check["rule"] == "browser.service_worker"
    assert "kept the release before the deploy in 3 navigations" in check["actual"]
    assert "Cache-Control: public, max-age=31536000" in check["actual"]
    assert "cache-first" in check["cause"] and "--cache-control no-cache" in check["cause"]
    assert check["reproduce"].startswith("curl ") and check["reproduce"].endswith("https://www.example.test/sw.js")
    assert dict(check["properties"])["handover"].count("before (worker)") == 3


def test_a_page_that_registers_no_service_worker_is_skipped_saying_why(lab, run_edgeverify, tmp_path):
    """The lab's /docs/ page is a plain document: no worker, so nothing to hand over (skipped, never passed)."""
    target = tmp_path / "docs.yaml"
    target.write_text("domain: www.example.test\nstatic:\n  pages: [/docs/]\n")
    run = run_edgeverify(lab.edge(), SUITE, "-k", "service_worker", target=target)
    assert run.returncode == 0, run.output
    (check,) = run.checks
    assert check["outcome"] == "skipped"
    assert "https://www.example.test/docs/ registers no service worker" in check["message"]


def test_a_failing_check_carries_its_failing_requests_as_a_redacted_har_excerpt(lab, run_edgeverify, tmp_path):
    """route-chunk-html: the failing check's JSON result and report.html carry the page's failing requests as a HAR
    1.2 excerpt; a secret the target sends (from the environment, in a plain header and in Authorization) and the
    edge's session cookie appear in no report file, in no encoding."""
    import base64
    import json
    from urllib.parse import quote

    import jsonschema

    secret = "hAr-s3cret/Value+42=="
    target = tmp_path / "secret.yaml"
    target.write_text((ROOT / "targets" / "local-lab.yaml").read_text()
                      + '\nheaders:\n  X-Edge-Token: "${EV_HAR_SECRET}"\n  Authorization: "Bearer ${EV_HAR_SECRET}"\n')
    run = run_edgeverify(lab.edge(["route-chunk-html"]), SUITE, "-k", "every_request", target=target,
                         env={"EV_HAR_SECRET": secret})
    assert run.returncode == 1, run.output
    failed = [c for c in run.checks if c["outcome"] == "failed"]
    assert len(failed) == 3 and all("har" in c for c in failed)
    schema = json.loads((ROOT / "tests" / "data" / "har-1.2.schema.json").read_text())
    for check in failed:
        jsonschema.validate(check["har"], schema)
    entries = failed[0]["har"]["log"]["entries"]
    (chunk,) = [e for e in entries if "/assets/route." in e["request"]["url"]]
    assert "wrong MIME type" in chunk["comment"] and chunk["response"]["content"]["mimeType"] == "text/html"
    sent = {h["name"].lower(): h["value"] for h in chunk["request"]["headers"]}
    assert sent["x-edge-token"] == "${EV_HAR_SECRET}" and sent["authorization"] == "Bearer ${EV_HAR_SECRET}"
    document = {h["name"].lower(): h["value"] for h in entries[0]["response"]["headers"]}
    assert entries[0]["comment"] == "the page's document" and document["set-cookie"] == "<redacted>"
    folder = Path(dict(failed[0]["properties"])["screenshot"]).parent.parent
    page = (folder / "report.html").read_text()
    assert '<details class="har">' in page and "/assets/route." in page and "a HAR 1.2 excerpt" in page
    forms = (secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode().rstrip("="))
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            text = path.read_text(errors="replace")
            assert not any(form in text for form in forms), path
            assert "lab_session=" not in text, path  # the edge's session cookie (Set-Cookie) is masked everywhere
