"""The browser rules over recorded page loads (no browser, no socket): each passes on a clean load and fails on the
problem it exists for, saying what, where, the likely cause, the screenshot and how to reproduce it.

The texts below are what Chromium 156 (Debian's) reported loading the lab with each browser fault (recorded with
edgeverify/browser.py against edgeverify.lab)."""

import pytest

from edgeverify.browser import BrowserRequest, PageLoad, host_rules, same_origin_paths, unavailable
from edgeverify.errors import CouldNotJudge
from edgeverify.rules import Violation
from edgeverify.rules import browser as rules
from edgeverify.target import Browser, Target

URL = "https://www.example.test/settings/profile"
ROUTE = "https://www.example.test/assets/route.7454b76d.js"
CHECKS = (rules.check_console, rules.check_subresources, rules.check_csp, rules.check_mixed_content,
          rules.check_renders)


def load(**kw) -> PageLoad:
    base = dict(path="/settings/profile", url=URL, status=200, ready="#root > *", ready_ms=412.0, ready_within_s=5,
                command=f"/usr/lib/chromium/chromium --headless --dump-dom {URL}", screenshot="reports/browser/x.png",
                timings={"ttfb_ms": 12.5, "fcp_ms": 80.0, "lcp_ms": None, "transfer_bytes": 9000})
    base.update(kw)
    return PageLoad(**base)


def test_a_clean_load_passes_every_rule():
    for check in CHECKS:
        check(load())


def test_timings_and_the_screenshot_are_the_checks_properties():
    props = dict(load(chromium="Chromium 156 started at 1.000 in 0.44 s").properties())
    assert props["ttfb_ms"] == "12" and props["fcp_ms"] == "80" and "lcp_ms" not in props
    assert props["ready_ms"] == "412" and props["screenshot"] == "reports/browser/x.png"
    assert props["chromium"].startswith("Chromium 156")
    assert dict(load(ready_ms=None).properties())["ready_ms"] == "never"


def fails(check, seen, rule: str) -> str:
    with pytest.raises(Violation) as info:
        check(seen)
    v = info.value
    assert v.rule.id == rule
    text = v.render()
    for part in ("Expected:", "Actual:", "Likely cause:", "Reproduce:", "screenshot: reports/browser/x.png", URL):
        assert part in text, text
    return text


def test_module_chunk_served_as_html():
    seen = load(ready_ms=None, failed=[BrowserRequest(
        "GET", ROUTE, "script", 200, "text/html",
        "a script answered as text/html: the browser refuses to run it (wrong MIME type)")],
        console=['Failed to load module script: Expected a JavaScript-or-Wasm module script but the server responded '
                 'with a MIME type of "text/html". (at ' + ROUTE + ':1)'],
        exceptions=[f"Failed to fetch dynamically imported module: {ROUTE}"])
    text = fails(rules.check_subresources, seen, "browser.subresources")
    assert "wrong MIME type" in text and "Content-Type" in text and "text/javascript" in text
    assert "Failed to load module script" in fails(rules.check_console, seen, "browser.console")
    assert "did not appear within 5 s" in fails(rules.check_renders, seen, "browser.renders")
    rules.check_csp(seen)
    rules.check_mixed_content(seen)


def test_csp_violation_names_the_directive_and_the_response_headers_policy():
    seen = load(csp=["script-src-elem blocked https://www.example.test/assets/app.1c995a9b.js (policy: default-src "
                     "'self'; script-src https://assets.example.test)"])
    text = fails(rules.check_csp, seen, "browser.csp")
    assert "script-src-elem" in text and "response headers policy" in text


def test_mixed_content():
    seen = load(insecure=["GET http://www.example.test/assets/app.1c995a9b.js (script)"],
                failed=[BrowserRequest("GET", "http://www.example.test/assets/app.1c995a9b.js", "script", None,
                                       problem="failed: mixed-content")])
    assert "root-relative" in fails(rules.check_mixed_content, seen, "browser.mixed_content")
    assert "root-relative" in fails(rules.check_subresources, seen, "browser.subresources")


def test_an_exception_on_a_deep_link_fails_console_and_renders():
    seen = load(ready_ms=None, exceptions=["config config.json: HTTP 403"],
                failed=[BrowserRequest("GET", "https://www.example.test/settings/config.json", "fetch", 403,
                                       "application/xml", "HTTP 403")])
    assert "uncaught: config config.json: HTTP 403" in fails(rules.check_renders, seen, "browser.renders")
    assert "not in the bucket" in fails(rules.check_console, seen, "browser.console")


def test_a_page_that_did_not_load_is_never_a_pass_and_a_ready_selector_not_asked_is_not_judged():
    seen = load(status=None, ready_ms=None, error="net::ERR_CONNECTION_REFUSED at " + URL)
    for check in CHECKS:
        with pytest.raises(CouldNotJudge, match="ERR_CONNECTION_REFUSED"):
            check(seen)
    partial = load(ready_ms=None, error="Timeout 30000ms exceeded.",
                   failed=[BrowserRequest("GET", ROUTE, "script", 404, "application/xml", "HTTP 404")])
    assert "did not finish loading" in fails(rules.check_subresources, partial, "browser.subresources")
    assert "Timeout" in fails(rules.check_renders, partial, "browser.renders")
    rules.check_renders(load(ready=None, ready_ms=None))


def test_the_failing_same_origin_requests_are_fetched_again():
    target = Target(domain="www.example.test")
    seen = load(failed=[BrowserRequest("GET", ROUTE + "?v=1", "script", 200, "text/html", "wrong MIME type"),
                        BrowserRequest("GET", "https://cdn.other.test/x.js", "script", 404, "", "HTTP 404"),
                        BrowserRequest("GET", "https://www.example.test/a.js", "script", None, problem="failed")])
    assert same_origin_paths(seen, target) == ["/assets/route.7454b76d.js?v=1"]


def test_host_rules_follow_connect_to_and_send_other_names_nowhere():
    target = Target(domain="www.example.test", connect_to=["www.example.test:443:127.0.0.1:8443",
                                                           "www.example.test:80:[::1]:8080"])
    assert host_rules(target) == ("MAP www.example.test:443 127.0.0.1:8443, MAP www.example.test:80 [::1]:8080, "
                                  "MAP * ~NOTFOUND")
    assert host_rules(Target(domain="www.example.test")) == ""


def test_no_chromium_is_a_reason_to_skip(monkeypatch):
    monkeypatch.setenv("EDGEVERIFY_CHROMIUM", "/nonexistent/chromium")
    reason = unavailable(Target(domain="www.example.test", browser=Browser(ready="#root")))
    assert reason is not None and "no Chromium found" in reason and "apt-get install chromium" in reason
