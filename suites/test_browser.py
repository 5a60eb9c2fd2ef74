"""browser: the entry page and each deep link in headless Chromium: no console error or uncaught exception, every
request loaded (typed as the browser needs it), no CSP violation, no mixed content, and the app renders its ready
selector in time; a service worker the entry page registers hands over to a new release. Timings (TTFB, FCP, LCP,
ready) are recorded beside each check; a failure carries the failing requests, fetched again over HTTP for their curl
line and as a HAR excerpt, and a screenshot (a file under the reports folder).

One Chromium serves the whole run (edgeverify/browser.py); the checks of a round share each page's one load."""

from urllib.parse import urlsplit

import pytest

from edgeverify.browser import page_load, same_origin_paths, service_worker_handover
from edgeverify.engine import entry_path
from edgeverify.errors import CouldNotJudge
from edgeverify.rules import browser
from edgeverify.skew import DOCUMENT_MAX_BYTES, previous_release


def loaded(edge, target, path):
    """The page as the browser loaded it this round, and the HTTP answers to the same-origin requests that failed.
    The document must first have come whole over HTTP (shared with the other suites' checks): a browser is not sent
    to a page whose answer never ends or never comes (could not judge, as for every other check)."""
    edge.fetch(path, whole=True)
    seen = page_load(edge, target, path)
    paths = same_origin_paths(seen, target)
    try:
        exchanges = edge.fetch_all(paths) if paths else []
    except CouldNotJudge:  # the evidence did not arrive whole: the browser's account is judged alone
        exchanges = []
    return seen, exchanges


@pytest.mark.rule("browser.console")
def test_page_logs_no_error(edge, target, browser_page):
    browser.check_console(*loaded(edge, target, browser_page))


@pytest.mark.rule("browser.subresources")
def test_every_request_of_the_page_loads(edge, target, browser_page):
    browser.check_subresources(*loaded(edge, target, browser_page))


@pytest.mark.rule("browser.csp")
def test_no_content_security_policy_violation(edge, target, browser_page):
    browser.check_csp(*loaded(edge, target, browser_page))


@pytest.mark.rule("browser.mixed_content")
def test_nothing_requested_over_http(edge, target, browser_page):
    browser.check_mixed_content(*loaded(edge, target, browser_page))


@pytest.mark.rule("browser.renders")
def test_app_renders_its_ready_selector(edge, target, browser_page):
    if not target.browser.ready:
        pytest.skip("browser.ready is not set: give the CSS selector the app renders (e.g. \"#root > *\")")
    browser.check_renders(*loaded(edge, target, browser_page))


@pytest.mark.rule("browser.previous_release")
def test_a_tab_on_the_previous_release_keeps_working(edge, target):
    previous = previous_release(edge, target)  # propagation.previous_entry, else the run history's (edgeverify/skew.py)
    if previous.document is None:
        pytest.skip(f"the run history kept only the asset list of the previous release's index.html (larger than "
                    f"{DOCUMENT_MAX_BYTES} bytes): propagation.previous_release checks them ({previous.source})")
    seen = page_load(edge, target, entry_path(target), document=previous.document)
    edge.data["properties"] = [*edge.data.get("properties", ()), ("previous release", previous.short)]
    paths = same_origin_paths(seen, target)
    try:
        exchanges = edge.fetch_all(paths) if paths else []
    except CouldNotJudge:
        exchanges = []
    browser.check_previous_release(seen, exchanges, previous.source, previous.short)


@pytest.mark.rule("browser.service_worker")
def test_service_worker_hands_over_to_the_new_release(edge, target):
    path = entry_path(target)
    document = edge.fetch(path, whole=True)
    seen = page_load(edge, target, path)  # the load the other checks of the entry page share
    script = browser.registered_worker(seen)  # skipped when the page registers none
    parts = urlsplit(script)
    answer = edge.fetch(parts.path + (f"?{parts.query}" if parts.query else ""), whole=True)
    handover = service_worker_handover(edge, target, path, document.body, script, seen.service_worker_options)
    browser.check_service_worker(seen, handover, answer, target.cache.html_max_max_age, [document])
