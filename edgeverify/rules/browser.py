"""browser: what a real browser running the app reports on each app page (the entry page and each deep link).

The rules judge a `PageLoad` (edgeverify/browser.py: what headless Chromium saw while loading the page) and the
HTTP exchanges of the requests that failed in it, fetched again by the check so that a failure carries a curl line
and the edge's diagnosis. They never drive the browser themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..browser import PageLoad
from ..errors import CouldNotJudge
from ..exchange import Exchange
from . import LISTED, Rule, Violation, rule

SCREENSHOT_HINT = "the screenshot shows what the viewer got"
MIME_CAUSE = ("the object's Content-Type in S3 is not JavaScript: upload .js/.mjs files with Content-Type "
              "text/javascript (aws s3 sync sets it from the extension; a hand-written upload, or a response headers "
              "policy or Lambda@Edge function overriding Content-Type, does not); browsers refuse module scripts of "
              "any other type")
MISSING_CAUSE = ("the object is not in the bucket (S3 answers 403 AccessDenied without s3:ListBucket): upload it with "
                 "the release, keep the previous release's files until no tab runs it, or fix the path the app asks "
                 "for (a build with a relative base asks /nested/route/file on deep links)")
MIXED_CAUSE = ("the app references http:// URLs (a build's base or public path set to http://): build asset URLs "
               "root-relative (/assets/...) or https://")
CSP_CAUSE = ("the Content-Security-Policy header (a CloudFront response headers policy, "
             "SecurityHeadersConfig.ContentSecurityPolicy, or a <meta> in index.html) does not allow the app's own "
             "files: add 'self' (and every asset host) to script-src")
ORIGIN_CAUSE = "the origin behind the edge failed (5xx): see the exchange's X-Cache and the origin's logs"

CONSOLE = rule(
    "browser.console",
    "The app's pages log no console error and throw no uncaught exception in a real browser",
    "Errors a browser logs are what users hit and HTTP checks never see: a module the browser refused, a blocked "
    "script, a runtime config of another release, an exception that stops the app. Each line says where it came "
    "from; the failing requests are fetched again with curl for the edge's side.",
    "edge rules 'browser' (issue 22); CloudWatch Synthetics canaries fail on console errors the same way",
)
SUBRESOURCES = rule(
    "browser.subresources",
    "Every request the page makes loads: no 4xx/5xx, no aborted or blocked request, scripts typed as JavaScript",
    "A chunk the app imports lazily (no tag names it, so the static suite cannot see it), a runtime config, a font: "
    "when one fails the app breaks in the browser while every listed file answers 200. A module script served as "
    "text/html (a missing chunk answered by an SPA fallback, or wrong S3 metadata) is refused outright.",
    "HTML Standard 'fetch a single module script' (MIME type check); edge rules 'static'",
)
CSP = rule(
    "browser.csp",
    "The page's Content-Security-Policy allows everything the app loads (no securitypolicyviolation)",
    "A Content-Security-Policy set at the edge (a CloudFront response headers policy's SecurityHeadersConfig) that "
    "does not list the bundle's origin blocks the app itself: the page is blank while the document answers 200. Add "
    "the app's own origin ('self') and every asset host to script-src/style-src/connect-src.",
    "CloudFront response headers policy, SecurityHeadersConfig.ContentSecurityPolicy; W3C CSP Level 3",
)
MIXED = rule(
    "browser.mixed_content",
    "The https page requests nothing over plain http:// (mixed content)",
    "Browsers block http:// scripts, styles and fetches from an https page (and upgrade or warn for images): the app "
    "breaks only for viewers, never for a curl of the page. Build asset URLs root-relative or https://.",
    "W3C Mixed Content; edge rules 'static'",
)
RENDERS = rule(
    "browser.renders",
    "The app renders: the target's browser.ready selector appears within browser.ready_within on every app page",
    "The app shell can load with 200 on every request and still render nothing: an exception in the app's start, a "
    "config that did not load on a nested route, a blocked bundle. The ready selector (e.g. '#root > *') is what a "
    "person would see; its time from navigation start is recorded with TTFB, FCP and LCP.",
    "issue 22 (browser suite); web.dev Core Web Vitals (LCP)",
    threshold="browser.ready_within (default 10 s) from navigation start; not judged without browser.ready",
)


def _fail(r: Rule, expected: str, seen: PageLoad, problems: Sequence[str], exchanges: Sequence[Exchange],
          cause: str, diagnose: bool = True) -> None:
    lines = list(problems[:LISTED]) + ([f"... and {len(problems) - LISTED} more"] if len(problems) > LISTED else [])
    actual = f"{len(problems)} on {seen.url}:" + "".join(f"\n            - {line}" for line in lines)
    if seen.screenshot:
        actual += f"\n            screenshot: {seen.screenshot}"
    first = exchanges[0] if exchanges else None
    raise Violation(r, expected, actual, first, f"{cause}; {SCREENSHOT_HINT}" if seen.screenshot else cause,
                    extra=list(exchanges[1:]), reproduce=first.curl() if first is not None else seen.command,
                    diagnose=diagnose)


def _request_cause(seen: PageLoad) -> str:
    causes = []
    for r in seen.failed:
        if "MIME" in r.problem:
            causes.append(MIME_CAUSE)
        elif r.status in (403, 404):
            causes.append(MISSING_CAUSE)
        elif r.status is not None and r.status >= 500:
            causes.append(ORIGIN_CAUSE)
        elif "mixed" in r.problem.lower() or r.url.startswith("http:"):
            causes.append(MIXED_CAUSE)
        elif "csp" in r.problem.lower():
            causes.append(CSP_CAUSE)
    return "; also: ".join(dict.fromkeys(causes)) or "the request did not complete in the browser: see its error"


def _unjudged(seen: PageLoad) -> None:
    """A page that did not load (nothing found wrong in what did) leaves nothing to judge: never a pass."""
    if seen.error:
        raise CouldNotJudge(f"could not judge: the browser could not load {seen.url}: {seen.error} (the HTTP checks "
                            f"say why; reproduce: {seen.command})")


def check_console(seen: PageLoad, exchanges: Sequence[Exchange] = ()) -> None:
    problems = [f"uncaught: {e}" for e in seen.exceptions] + [f"console error: {c}" for c in seen.console]
    if problems:
        cause = _request_cause(seen) if seen.failed else CSP_CAUSE if seen.csp else (
            "the app itself logged it: a runtime config of another release (invalidate /config.json with each "
            "release, or serve it Cache-Control: no-cache), or an error the app reports; read the lines above")
        _fail(CONSOLE, "no console error and no uncaught exception", seen, problems, exchanges, cause)
    _unjudged(seen)


PREVIOUS_RELEASE = rule(
    "browser.previous_release",
    "A tab still running the previous release keeps working after the deploy: its scripts, styles and lazily "
    "imported chunks still load",
    "Viewers keep tabs open across a deploy, and edges not yet converged still hand out the previous index.html. "
    "When the deploy deleted the previous release's fingerprinted files (aws s3 sync --delete), those tabs fail "
    "with 'Failed to fetch dynamically imported module' or a blank page the next time they load a chunk.",
    "Vite 'Load error handling' (vite:preloadError); edge rules 'browser' and 'propagation'",
    threshold="with propagation.previous_entry (a saved copy of the previous release's index.html), else the "
              "entry document the run history recorded at the last passing run on another release",
)
SKEW_CAUSE = ("the deploy removed the previous release's files (aws s3 sync --delete) while tabs and edges still run "
              "its index.html: keep the last releases' fingerprinted assets (sync without --delete, and delete old "
              "assets by age with an S3 lifecycle rule or a later job)")


def check_previous_release(seen: PageLoad, exchanges: Sequence[Exchange] = (), source: str = "",
                           short: str = "") -> None:
    """The previous release's entry document, opened against today's edge, loads every file it asks for; `source`
    (and in a few words `short`): where that document came from (the declared file, or the run history's run)."""
    problems = [r.line() for r in seen.failed] + [f"uncaught: {e}" for e in seen.exceptions]
    if problems:
        _fail(PREVIOUS_RELEASE, "every file the previous release's page loads still answers 2xx (no error in it)",
              seen, ["a tab on the previous release:", *problems, *([f"the previous release: {short}"] if short
                                                                   else [])],
              exchanges, SKEW_CAUSE + (f" (the previous release: {source})" if source else ""),
              diagnose=False)  # S3's 403 for a deleted key is the skew's doing here, not a missing upload
    _unjudged(seen)


def check_subresources(seen: PageLoad, exchanges: Sequence[Exchange] = ()) -> None:
    problems = [r.line() for r in seen.failed]
    if problems:
        if seen.error:
            problems.insert(0, f"the page itself did not finish loading: {seen.error}")
        _fail(SUBRESOURCES, "every request of the page answered 2xx/3xx, scripts as JavaScript, none blocked",
              seen, problems, exchanges, _request_cause(seen))
    _unjudged(seen)


def check_csp(seen: PageLoad, exchanges: Sequence[Exchange] = ()) -> None:
    if seen.csp:
        _fail(CSP, "no Content-Security-Policy violation", seen, [f"violation: {v}" for v in seen.csp], exchanges,
              CSP_CAUSE)
    _unjudged(seen)


def check_mixed_content(seen: PageLoad, exchanges: Sequence[Exchange] = ()) -> None:
    if seen.insecure:
        _fail(MIXED, "no http:// request from the https page", seen, [f"insecure: {v}" for v in seen.insecure],
              exchanges, MIXED_CAUSE)
    _unjudged(seen)


def check_renders(seen: PageLoad, exchanges: Sequence[Exchange] = ()) -> None:
    if seen.ready and seen.ready_ms is None:
        problems = [f"uncaught: {e}" for e in seen.exceptions] + [r.line() for r in seen.failed]
        problems += [f"violation: {v}" for v in seen.csp]
        if seen.error and not problems:
            _unjudged(seen)
        problems.insert(0, f"'{seen.ready}' did not appear within {seen.ready_within_s:g} s"
                        + (f" ({seen.error})" if seen.error else ""))
        _fail(RENDERS, f"'{seen.ready}' within {seen.ready_within_s:g} s of navigation start", seen, problems,
              exchanges, _request_cause(seen) if seen.failed else
              "the app did not start: an uncaught exception in its start (listed), or a script that never ran")
    _unjudged(seen)
