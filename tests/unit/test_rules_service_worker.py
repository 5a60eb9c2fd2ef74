"""browser.service_worker over recorded evidence (no browser, no socket): the page's registration, the worker script's
answer and the played deploy (edgeverify/browser.py Handover). The handovers below are what Chromium 156 recorded
against edgeverify.lab (its network-first worker, and the sw-stale fault's cache-first one); the Cache-Control values
are real ones: `public, max-age=7200` is what MDN's serviceworker-cookbook served its service-worker.js with
(https://github.com/mdn/serviceworker-cookbook/issues/201: 'when someone ... clicks the update button, they will most
likely not see the service worker update'), `public, max-age=31536000` what `aws s3 sync --cache-control` gives a whole
build; an old worker serving an older index.html is toptal/keycodes#274 ('The old service worker is returning older
index.html scaffold')."""

from __future__ import annotations

import pytest

from edgeverify.browser import Handover, Navigation, PageLoad
from edgeverify.errors import CouldNotJudge, NotApplicable
from edgeverify.exchange import Exchange
from edgeverify.rules import Violation
from edgeverify.rules import browser as rules

URL = "https://www.example.test/"
SCRIPT = "https://www.example.test/sw.js"
MAX = 180


def page(**kw) -> PageLoad:
    base = dict(path="/", url=URL, status=200, service_worker=SCRIPT,
                command=f"/usr/lib/chromium/chromium --headless --dump-dom {URL}")
    base.update(kw)
    return PageLoad(**base)


def script(cc: str | None = "no-cache", status: int = 200, content_type: str = "text/javascript") -> Exchange:
    headers = [("content-type", content_type), ("x-cache", "Hit from cloudfront")]
    if cc is not None:
        headers.append(("cache-control", cc))
    return Exchange("GET", SCRIPT, status=status, reason="OK", headers=headers, body=b"")


HANDED_OVER = Handover(URL, SCRIPT, active=True, state="activated",
                       navigations=[Navigation(200, True, False, "activating")])  # network-first: the first navigation
SWR = Handover(URL, SCRIPT, active=True, state="activated",  # stale-while-revalidate: the second one
               navigations=[Navigation(200, True, True, "activated"), Navigation(200, True, False, "activated")])
STALE = Handover(URL, SCRIPT, active=True, state="activated",
                 navigations=[Navigation(200, True, True, "activating"), Navigation(200, True, True, "activated"),
                              Navigation(200, True, True, "activated")])


def violation(*args) -> Violation:
    with pytest.raises(Violation) as info:
        rules.check_service_worker(*args)
    assert info.value.rule.id == "browser.service_worker"
    text = info.value.render()
    for part in ("Expected:", "Actual:", "Likely cause:", "Reproduce: curl ", SCRIPT):
        assert part in text, text
    return info.value


@pytest.mark.parametrize("cc", ["no-cache", "max-age=0, must-revalidate", "public, max-age=60", "no-store",
                                "public, max-age=31536000, s-maxage=0, no-cache"])
def test_a_revalidated_worker_that_hands_over_passes(cc):
    rules.check_service_worker(page(), HANDED_OVER, script(cc), MAX)
    rules.check_service_worker(page(), SWR, script(cc), MAX)


@pytest.mark.parametrize("cc", ["public, max-age=7200", "public, max-age=31536000", "public, max-age=31536000, immutable",
                                "max-age=60, s-maxage=86400", None])
def test_a_worker_script_cached_long_fails_naming_the_s3_metadata(cc):
    v = violation(page(), HANDED_OVER, script(cc), MAX)
    assert "sw.js" in v.actual and "--cache-control no-cache" in (v.cause or "")
    assert ("no Cache-Control" if cc is None else f"Cache-Control: {cc}") in v.actual
    assert v.reproduce is not None and v.reproduce.endswith(SCRIPT)


def test_a_tab_kept_on_the_release_before_the_deploy_fails_with_each_navigation():
    v = violation(page(), STALE, script(), MAX)
    assert "kept the release before the deploy in 3 navigations" in v.actual
    assert "navigation 3 after the deploy: 200 from the service worker" in v.actual
    assert "cache-first" in (v.cause or "") and "network-first" in (v.cause or "")


def test_the_sw_stale_fault_reports_both_problems():
    v = violation(page(), STALE, script("public, max-age=31536000"), MAX)
    assert v.actual.startswith("2 on ") and "--cache-control no-cache" in (v.cause or "")
    assert "cache-first" in (v.cause or "")


def test_a_worker_that_never_activates_or_does_not_register_fails():
    v = violation(page(), Handover(URL, SCRIPT, active=False, state="installing"), script(), MAX)
    assert "not active within 5 s" in v.actual and "install failed" in (v.cause or "")
    v = violation(page(service_worker_error="SecurityError: Failed to register a ServiceWorker: The script has an "
                                            "unsupported MIME type ('text/html')."),
                  HANDED_OVER, script(content_type="text/html"), MAX)
    assert "registering https://www.example.test/sw.js failed" in v.actual and "Content-Type" in (v.cause or "")


def test_a_page_without_a_worker_is_skipped_saying_why():
    with pytest.raises(NotApplicable, match="registers no service worker"):
        rules.registered_worker(page(service_worker=None))
    assert rules.registered_worker(page()) == SCRIPT


def test_a_page_that_did_not_load_or_a_tab_that_could_not_navigate_is_not_judged():
    with pytest.raises(CouldNotJudge):
        rules.registered_worker(page(status=None, error="net::ERR_CONNECTION_REFUSED"))
    with pytest.raises(CouldNotJudge, match="could not navigate"):
        rules.check_service_worker(page(), Handover(URL, SCRIPT, error="net::ERR_ABORTED"), script(), MAX)


def test_the_handover_summary_is_a_fact_beside_the_outcome():
    assert STALE.summary() == "navigations after the deploy got the release: before (worker), before (worker), " \
                              "before (worker)"
    assert HANDED_OVER.summary().endswith("current (worker)") and HANDED_OVER.handed_over and not STALE.handed_over
