"""browser: what a real browser running the app reports on each app page (the entry page and each deep link).

The rules judge a `PageLoad` (edgeverify/browser.py: what headless Chromium saw while loading the page) and the
HTTP exchanges of the requests that failed in it, fetched again by the check so that a failure carries a curl line
and the edge's diagnosis. They never drive the browser themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..browser import Handover, PageLoad
from ..errors import CouldNotJudge, NotApplicable
from ..exchange import Exchange
from . import LISTED, Rule, Violation, rule
from .cache import directives

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


SERVICE_WORKER = rule(
    "browser.service_worker",
    "A service worker, if the app registers one, hands over to the new release: its script is served revalidatable "
    "and a tab it controls gets the edge's current index.html after a deploy",
    "A service worker answers the app's navigations from then on, whatever the edge serves: one that serves "
    "index.html cache-first from a cache no release clears keeps every open tab (and every later visit) on the release "
    "it first cached, and one whose sw.js is cached long at the edge (CloudFront keeps it for its max-age) is never "
    "replaced. The check plays a deploy in a tab of its own: the tab runs the release before (the current index.html "
    "and sw.js, marked) under the worker, then navigates against the edge's own answers, the worker updating between "
    "navigations as browsers do, until it gets the current index.html. A precache keyed by revision (Workbox's "
    "__WB_REVISION__) fetches each release's own copy and is left alone. Skipped when the entry page registers no "
    "service worker.",
    "W3C Service Workers (Update, skipWaiting, Clients.claim); web.dev 'The service worker lifecycle'; Workbox "
    "precaching (revisioned entries)",
    threshold="sw.js: Cache-Control no-cache or max-age (s-maxage) <= cache.html_max_max_age (180 s); the tab gets the "
              "current index.html within 3 navigations after the deploy; the worker active within 5 s",
)
SW_CACHE_CAUSE = ("the service worker's script is cached long (S3 object metadata Cache-Control of sw.js, or a cache "
                  "policy's MinTTL on its behavior): upload sw.js with --cache-control no-cache (aws s3 cp sw.js "
                  "s3://BUCKET/sw.js --cache-control no-cache, after the build's sync) or give /sw.js a CloudFront "
                  "behavior with CachingDisabled, then invalidate /sw.js once")
SW_STALE_CAUSE = ("the service worker answers navigations (index.html) cache-first from a cache no new release clears: "
                  "serve navigations network-first (or stale-while-revalidate), or name the cache per release and "
                  "delete the old ones in 'activate', with skipWaiting() and clients.claim() (or reload on "
                  "'controllerchange'); Workbox's precacheAndRoute does this by revision")
SW_INSTALL_CAUSE = ("the worker never activated: its install failed (a file it precaches does not load: see "
                    "browser.subresources) or it waits for the tabs of an older worker to close (no skipWaiting())")


def registered_worker(seen: PageLoad) -> str:
    """The service worker script the entry page registered; skipped (NotApplicable) when it registers none."""
    _unjudged(seen)
    if not seen.service_worker:
        raise NotApplicable(f"{seen.url} registers no service worker (navigator.serviceWorker.register was not called "
                            "while the page loaded and settled): nothing to hand over to a new release")
    return seen.service_worker


def _revalidatable(script: Exchange, max_max_age: int) -> str | None:
    """What is wrong with the worker script's answer for a handover, or None."""
    if script.status != 200:
        return f"GET {script.url} -> {script.status if script.status is not None else 'no response'}: the browser " \
               "cannot check it for a new worker"
    found = directives(script)
    names = {d for d, _ in found}
    age = next((v for d, v in found if d == "s-maxage"), None)
    age = age if age is not None else next((v for d, v in found if d == "max-age"), None)
    if script.header("cache-control") is None:
        return (f"GET {script.url} -> no Cache-Control: CloudFront applies its cache policy's DefaultTTL (CachingOptimized: "
                "86400 s) to the worker's script")
    if "immutable" in names or not (names & {"no-cache", "no-store"} or (isinstance(age, int) and age <= max_max_age)):
        return (f"GET {script.url} -> Cache-Control: {script.header('cache-control')}: the edge and browsers keep the "
                "previous release's worker")
    return None


def check_service_worker(seen: PageLoad, handover: Handover, script: Exchange, max_max_age: int,
                         exchanges: Sequence[Exchange] = ()) -> None:
    """The worker the page registered hands over to the new release (see SERVICE_WORKER)."""
    problems, causes = [], []
    if seen.service_worker_error:
        problems.append(f"registering {seen.service_worker} failed: {seen.service_worker_error}")
        causes.append(MIME_CAUSE if "MIME" in seen.service_worker_error else MISSING_CAUSE)
    cached = _revalidatable(script, max_max_age)
    if cached:
        problems.append(cached)
        causes.append(SW_CACHE_CAUSE)
    if handover.error:
        if not problems:
            raise CouldNotJudge(f"could not judge: a tab under the worker of {handover.url} could not navigate: "
                                f"{handover.error} (reproduce: {handover.command})")
        problems.append(f"the tab under the worker could not navigate: {handover.error}")
    elif not handover.active:
        problems.append(f"the worker of {handover.url} was not active within 5 s of the page's load (state: "
                        f"{handover.state or 'none'})")
        causes.append(SW_INSTALL_CAUSE)
    elif not handover.handed_over:
        lines = [f"navigation {i} after the deploy: {n.status} "
                 f"{'from the service worker' if n.from_service_worker else 'from the network'}, the release before "
                 f"the deploy (then the worker: {n.worker or '?'})" for i, n in enumerate(handover.navigations, 1)]
        problems.append(f"a tab controlled by the worker kept the release before the deploy in {len(lines)} "
                        "navigations:" + "".join(f"\n              {line}" for line in lines))
        causes.append(SW_STALE_CAUSE)
    if problems:
        evidence = [script, *exchanges]
        lines = list(problems)
        actual = f"{len(lines)} on {seen.url} (worker {seen.service_worker}):" + "".join(
            f"\n            - {line}" for line in lines)
        raise Violation(SERVICE_WORKER, "the worker's script revalidated (no-cache), and the tab it controls gets the "
                        "edge's current index.html after a deploy", actual, evidence[0],
                        "; also: ".join(dict.fromkeys(causes)), extra=evidence[1:], reproduce=script.curl(),
                        diagnose=False)
