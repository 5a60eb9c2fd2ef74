"""The browser suite's Chromium: one headless Chromium per run, shared by the checks, closed with the run.

Playwright (PyPI) drives Debian's Chromium (no browser download). The browser reaches the edge the way the HTTP
checks do: the target's connect_to entries become Chromium's --host-resolver-rules, and the target's CA bundle is
trusted through an NSS database under a throw-away HOME (certutil, Debian's libnss3-tools), so certificates are
verified for real; only `insecure: true` turns that off.

Playwright's API is bound to one thread, and checks run on many: the browser lives on a thread of its own running an
asyncio loop, and a check hands it a page to load and waits, bounded, for the `PageLoad`. The checks of one round
that judge the same page share one load (each round loads again, as the HTTP answers are fetched again).
Every step is bounded: launch, navigation, the ready selector, settling, screenshots and closing.

A troubled page keeps its failing requests (and its document) as a HAR 1.2 excerpt (har.py), read from Playwright's
request and response objects before the page is closed. A service worker the page registers is recorded by the init
script; `handover` plays a deploy under it in a tab of its own (browser.service_worker).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import har
from .errors import CouldNotJudge, NotApplicable
from .redact import has_secrets, redact
from .target import Target

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium",)  # Debian's binary; /usr/bin/chromium is a shell wrapper
LAUNCH_TIMEOUT_S = 30.0  # a cold Chromium on a busy 2-core machine
NAVIGATION_TIMEOUT_S = 30.0  # the load event, at most (and at most the target's connect + total bounds)
SETTLE_S = 2.0  # at most this long after load (and ready) for the network to go quiet: late failures arrive then
QUIET_S = 0.15  # no request in flight for this long: the page has settled
SCREENSHOT_TIMEOUT_S = 5.0
HAR_TIMEOUT_S = 5.0  # reading the failing requests' headers and bodies for the HAR excerpt
CLOSE_TIMEOUT_S = 10.0
MAX_EVENTS = 50  # of each kind kept per page (a page logging in a loop stays bounded)
MAX_TEXT = 300  # characters kept of one console message or exception

# Runs before the page's own scripts in every document (CDP, not subject to the page's CSP).
INIT_SCRIPT = """
window.__edgeverify = {csp: [], lcp: null, sw: []};
try {  // the service workers the page registers (browser.service_worker), and whether registering failed
  const register = ServiceWorkerContainer.prototype.register;
  ServiceWorkerContainer.prototype.register = function (script, options) {
    const seen = {url: String(new URL(script, location.href)), error: null,
                  options: options ? {scope: options.scope, type: options.type} : {}};
    window.__edgeverify.sw.push(seen);
    const registering = register.call(this, script, options);
    registering.catch((e) => { seen.error = String(e); });
    return registering;
  };
} catch (e) {}
document.addEventListener("securitypolicyviolation", (e) => {
  window.__edgeverify.csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline code"}`
    + ` (policy: ${e.originalPolicy})`);
});
try {
  new PerformanceObserver((list) => {
    const last = list.getEntries().pop();
    if (last) window.__edgeverify.lcp = last.startTime;
  }).observe({type: "largest-contentful-paint", buffered: true});
} catch (e) {}
"""
TIMINGS_SCRIPT = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const resources = performance.getEntriesByType("resource");
  let bytes = nav ? nav.transferSize : 0;
  for (const r of resources) bytes += r.transferSize || 0;
  const own = window.__edgeverify || {csp: [], lcp: null, sw: []};
  return {timings: {ttfb_ms: nav ? nav.responseStart : null, fcp_ms: fcp ? fcp.startTime : null,
                    lcp_ms: own.lcp, load_ms: nav ? nav.loadEventEnd : null, transfer_bytes: bytes,
                    requests: resources.length + 1, protocol: nav ? nav.nextHopProtocol : null},
          csp: own.csp, sw: own.sw || []};
}"""
READY_SCRIPT = "(selector) => document.querySelector(selector) ? performance.now() : false"
JS_TYPES = re.compile(r"^(text|application)/(javascript|ecmascript|x-javascript|x-ecmascript)\b|^text/jscript\b", re.I)


@dataclass(frozen=True, slots=True)
class BrowserRequest:
    """A subresource the browser asked for and did not get as it needed."""

    method: str
    url: str
    resource: str  # Playwright's resource type: document, script, stylesheet, image, fetch...
    status: int | None  # None: no response (aborted, blocked, network error)
    content_type: str = ""
    problem: str = ""  # what was wrong, in words

    def line(self) -> str:
        answer = f"{self.status} {self.content_type}".strip() if self.status is not None else "no response"
        return f"{self.method} {self.url} ({self.resource}) -> {answer}: {self.problem}"


@dataclass(slots=True)
class PageLoad:
    """What the browser saw while loading one page: the evidence the browser rules judge."""

    path: str
    url: str
    status: int | None = None  # the document's
    error: str | None = None  # the page did not load (TLS, DNS, the load event never came)
    console: list[str] = field(default_factory=list)  # console errors
    exceptions: list[str] = field(default_factory=list)  # uncaught exceptions and unhandled rejections
    failed: list[BrowserRequest] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)  # Content-Security-Policy violations
    insecure: list[str] = field(default_factory=list)  # http:// requests from the https page (mixed content)
    ready: str | None = None  # the selector waited for
    ready_ms: float | None = None  # when it appeared, ms after navigation start (None: it never did)
    ready_within_s: float = 0.0
    timings: dict[str, Any] = field(default_factory=dict)
    screenshot: str | None = None  # the PNG written when something was wrong
    screenshot_withheld: str | None = None  # why none was written although something was wrong
    command: str = ""  # a chromium command line that opens the page the same way
    chromium: str = ""  # the browser that loaded it: version, when it started (one per run), how long that took
    service_worker: str | None = None  # the script URL the page registered as its service worker (the first)
    service_worker_error: str | None = None  # why registering it failed
    service_worker_options: dict[str, Any] = field(default_factory=dict)  # its registration's scope and type, if given
    har: dict[str, Any] | None = None  # the failing requests (and the document) as a HAR 1.2 excerpt, redacted

    @property
    def troubled(self) -> bool:
        return bool(self.error or self.console or self.exceptions or self.failed or self.csp or self.insecure
                    or (self.ready and self.ready_ms is None))

    def properties(self) -> list[tuple[str, str]]:
        """The facts recorded beside every browser check's outcome (timings, the screenshot)."""
        shown = [(k, _fmt(v)) for k, v in self.timings.items() if v is not None]
        if self.ready:
            shown.append(("ready_ms", "never" if self.ready_ms is None else _fmt(self.ready_ms)))
        if self.screenshot:
            shown.append(("screenshot", self.screenshot))
        if self.screenshot_withheld:
            shown.append(("screenshot_withheld", self.screenshot_withheld))
        if self.chromium:
            shown.append(("chromium", self.chromium))
        return shown


SW_ACTIVE_WITHIN_S = 5.0  # the registered worker is active (installed, activated) within this
SW_NAVIGATIONS = 3  # navigations of the controlled tab after the deploy in which it must get the new release
SW_UPDATE_S = 2.0  # after each, how long the worker's update (a new sw.js installing) may take
BEFORE_MARK = b"\n<!-- edgeverify: the release before the deploy -->\n"
BEFORE_SCRIPT_MARK = b"\n// edgeverify: the release before the deploy\n"
SW_REGISTER_SCRIPT = """async ([script, options, ms]) => {
  const end = performance.now() + ms;
  try { await navigator.serviceWorker.register(script, options); }
  catch (e) { return {active: false, state: `registering failed: ${e}`, script, controlled: false}; }
  const late = new Promise((done) => setTimeout(() => done(null), ms));
  const ready = await Promise.race([navigator.serviceWorker.ready, late]);
  while (ready && ready.active && ready.active.state === "activating" && performance.now() < end) {
    await new Promise((done) => setTimeout(done, 25));
  }
  const any = ready || await navigator.serviceWorker.getRegistration();
  const worker = any && (any.active || any.waiting || any.installing);
  return {active: !!(ready && ready.active && ready.active.state === "activated"), state: worker ? worker.state : "none",
          script: worker ? worker.scriptURL : null, controlled: !!navigator.serviceWorker.controller};
}"""
SW_UPDATE_SCRIPT = """async (ms) => {
  const found = await navigator.serviceWorker.getRegistration();
  if (!found) return "no registration";
  try { await Promise.race([found.update(), new Promise((done) => setTimeout(done, ms))]); } catch (e) {}
  const end = performance.now() + ms;
  while (found.installing && performance.now() < end) await new Promise((done) => setTimeout(done, 50));
  return found.waiting ? "a new worker is waiting" : found.active ? found.active.state : "none";
}"""


@dataclass(slots=True)
class Navigation:
    """One navigation of the controlled tab after the deploy: what document it got, and from whom."""

    status: int | None
    from_service_worker: bool
    previous: bool  # the document was the release before the deploy
    worker: str = ""  # the worker's state after it (its update included)


@dataclass(slots=True)
class Handover:
    """A tab that ran the release before the deploy with the page's service worker, navigated after it."""

    url: str
    script: str  # the worker's script URL
    active: bool = False  # the worker became active before the deploy
    state: str = ""  # its state when that was judged
    error: str | None = None  # the procedure could not go on (a navigation failed)
    navigations: list[Navigation] = field(default_factory=list)
    command: str = ""

    def summary(self) -> str:
        """The handover in one line (a fact beside the check's outcome)."""
        if self.error or not self.active:
            return self.error or f"the worker was not active ({self.state or 'none'})"
        got = ", ".join(("before" if n.previous else "current") + (" (worker)" if n.from_service_worker else "")
                        for n in self.navigations)
        return f"navigations after the deploy got the release: {got}"

    @property
    def handed_over(self) -> bool:
        """The tab got the edge's current document in one of its navigations after the deploy."""
        return any(n.status is not None and not n.previous for n in self.navigations)


def _fmt(value: Any) -> str:
    return f"{value:.0f}" if isinstance(value, float) else str(value)


def chromium_path() -> str | None:
    """Chromium's binary: $EDGEVERIFY_CHROMIUM when set, else Debian's; None when there is none."""
    given = os.environ.get("EDGEVERIFY_CHROMIUM")
    for path in (given,) if given else CHROMIUM_PATHS:
        if os.access(path, os.X_OK) and os.path.isfile(path):
            return path
    return None


def unavailable(target: Target) -> str | None:
    """Why the browser suite cannot run here (the checks are skipped saying so), or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the browser suite needs Playwright: pip install playwright (no `playwright install`: it drives " \
               "the system Chromium)"
    if chromium_path() is None:
        return (f"no Chromium found (looked for $EDGEVERIFY_CHROMIUM and {', '.join(CHROMIUM_PATHS)}): install "
                "Debian's chromium (apt-get install chromium) or set EDGEVERIFY_CHROMIUM to its binary")
    if target.ca_bundle and not target.insecure and shutil.which("certutil") is None:
        return (f"certutil not found: Chromium can trust the target's CA bundle ({target.ca_bundle}) only through "
                "an NSS database (Debian: apt-get install libnss3-tools)")
    return None


def host_rules(target: Target) -> str:
    """Chromium's --host-resolver-rules for the target's connect_to (curl's HOST:PORT:ADDR:PORT). With a mapping,
    every other name resolves nowhere: the browser reaches only the edge it verifies, as the HTTP checks do."""
    rules = []
    for spec in target.connect_to:
        host, port, rest = spec.split(":", 2)
        addr, _, to_port = rest.rpartition(":")
        rules.append(f"MAP {host}:{port} {addr or host}:{to_port or port}")
    return ", ".join(rules + ["MAP * ~NOTFOUND"]) if rules else ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:80] or "root"


class Browser:
    """One Chromium for one target's run, on its own thread; `load` is safe to call from any thread."""

    def __init__(self, target: Target, shots: Path | None, deadline: float) -> None:
        self.target, self.shots, self.deadline = target, shots, deadline
        self.home = Path(tempfile.mkdtemp(prefix="edgeverify-browser-"))
        # --disable-quic: pages load over TCP every time (https.http3 verifies HTTP/3 with libcurl)
        self.args = ["--disable-background-networking", "--disable-component-update", "--no-first-run",
                     "--disable-default-apps", "--disable-sync", "--disable-quic"]
        rules = host_rules(target)
        if rules:
            self.args.append(f"--host-resolver-rules={rules}")
        # the page and what it loads are bounded like one exchange of the target (connect, then total)
        self.navigation_s = min(NAVIGATION_TIMEOUT_S, target.timeouts.connect + target.timeouts.total)
        self._loads: dict[tuple[str, int, bool], Future[PageLoad]] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="edgeverify-browser", daemon=True)
        self._playwright: Any = None
        self._browser: Any = None
        self.closed = False
        self.launch_s: float | None = None
        self.about = ""
        self._thread.start()
        atexit.register(self.close)
        try:
            self._trust()
            started, self.started_at = time.monotonic(), time.time()
            self._call(self._launch(), LAUNCH_TIMEOUT_S, "start Chromium")
            self.launch_s = time.monotonic() - started
            self.about = (f"Chromium {getattr(self._browser, 'version', '?')} started at {self.started_at:.3f} "
                          f"in {self.launch_s:.2f} s")
        except BaseException:
            self.close()
            raise

    # -- setup ------------------------------------------------------------------------------------------------
    def _trust(self) -> None:
        """The target's CA bundle as trusted roots of an NSS database under the throw-away HOME."""
        if not self.target.ca_bundle or self.target.insecure:
            return
        db = self.home / ".pki" / "nssdb"
        db.mkdir(parents=True)
        pems = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                          Path(self.target.ca_bundle).read_text(errors="replace"), re.S)
        if not pems:
            raise CouldNotJudge(f"the CA bundle {self.target.ca_bundle} holds no PEM certificate for Chromium to trust")
        certutil = shutil.which("certutil") or "certutil"
        steps = [[certutil, "-N", "-d", f"sql:{db}", "--empty-password"]]
        for i, pem in enumerate(pems):
            path = self.home / f"ca{i}.pem"
            path.write_text(pem + "\n")
            steps.append([certutil, "-A", "-d", f"sql:{db}", "-t", "C,,", "-n", f"edgeverify-ca-{i}", "-i", str(path)])
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=30)
            if done.returncode != 0:
                raise CouldNotJudge(f"certutil could not trust {self.target.ca_bundle} for Chromium: "
                                    f"{(done.stderr or done.stdout).strip()[:300]}")

    async def _launch(self) -> None:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=chromium_path(), args=self.args, timeout=LAUNCH_TIMEOUT_S * 1000,
            env={**os.environ, "HOME": str(self.home)})

    def _call(self, coro: Any, timeout: float, what: str) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(max(0.1, min(timeout, self.deadline - time.monotonic())))
        except FutureTimeout:
            future.cancel()
            raise CouldNotJudge(f"could not judge: the browser did not {what} within {timeout:g} s") from None
        except CouldNotJudge:
            raise
        except Exception as exc:  # Playwright's errors: the browser itself failed, nothing to judge
            raise CouldNotJudge(f"could not judge: the browser could not {what}: "
                                f"{redact(' '.join(str(exc).split())[:400])}") from None

    def command(self, url: str) -> str:
        """The chromium command line that opens `url` the way the check did (the DOM printed)."""
        args = [chromium_path() or "chromium", "--headless", *[a for a in self.args if "host-resolver" in a]]
        if self.target.insecure:
            args.append("--ignore-certificate-errors")
        shown = " ".join(f"'{a}'" if " " in a or "," in a else a for a in args)
        home = f"HOME={self.home} " if self.target.ca_bundle and not self.target.insecure else ""
        return f"{home}{shown} --dump-dom {url}"

    # -- loading pages ----------------------------------------------------------------------------------------
    def load(self, path: str, round_no: int = 0, document: bytes | None = None) -> PageLoad:
        """The page's load in this round: the first check to ask loads it, the others wait for that load.
        `document`: the page opened with this entry document instead of the edge's (a tab still on the previous
        release), everything else it loads coming from the edge."""
        key = (path, round_no, document is not None)
        with self._lock:
            if self.closed:
                raise CouldNotJudge("could not judge: the browser was closed (the run ended)")
            future = self._loads.get(key)
            mine = future is None
            if future is None:
                future = self._loads[key] = Future()
        if mine:
            try:
                budget = (self.navigation_s + self.target.browser.ready_within + SETTLE_S + SCREENSHOT_TIMEOUT_S
                          + HAR_TIMEOUT_S)
                future.set_result(self._call(self._load(path, round_no, document), budget + 5, f"load {path}"))
            except BaseException as exc:  # noqa: BLE001 - every check waiting on this load gets the same ending
                future.set_exception(exc)
        return future.result()

    async def _load(self, path: str, round_no: int, document: bytes | None = None) -> PageLoad:
        from playwright.async_api import Error as PlaywrightError

        t = self.target
        url = t.url(path)
        seen = PageLoad(path, url, ready=t.browser.ready, ready_within_s=t.browser.ready_within,
                        command=self.command(url), chromium=self.about)
        context = await self._browser.new_context(ignore_https_errors=t.insecure, extra_http_headers=t.headers or None,
                                                  viewport={"width": 1280, "height": 800})
        listening = [True]  # events after the page was judged (closing aborts requests) are not evidence
        inflight: set[int] = set()  # requests sent and not yet finished or failed
        failing: list[tuple[Any, Any, str]] = []  # (request, response or None, problem): the HAR excerpt's entries
        own_document: list[tuple[Any, Any, str]] = []  # the page's own document, first in the excerpt

        def on_console(message: Any) -> None:
            if listening[0] and message.type == "error":
                _keep(seen.console, _console_line(message.text, message.location))

        def on_error(error: Any) -> None:
            if listening[0]:
                _keep(seen.exceptions, str(error))

        def on_failed(request: Any) -> None:
            inflight.discard(id(request))
            if listening[0]:
                problem = f"failed: {request.failure or 'aborted'}"
                _keep(seen.failed, BrowserRequest(request.method, redact(request.url), request.resource_type, None,
                                                  problem=problem))
                _keep(failing, (request, None, problem))

        def on_request(request: Any) -> None:
            inflight.add(id(request))
            if listening[0] and url.startswith("https:") and request.url.startswith("http:"):
                _keep(seen.insecure, f"{request.method} {request.url} ({request.resource_type})")

        def on_done(request: Any) -> None:
            inflight.discard(id(request))

        def on_response(response: Any) -> None:
            if listening[0]:
                if response.request.resource_type == "document" and seen.status is None \
                        and response.request.frame == page.main_frame:
                    seen.status = response.status  # the document came, even if its load event never does
                    own_document.append((response.request, response, "the page's document"))
                problem = _response(seen, response)
                if problem:
                    _keep(failing, (response.request, response, problem))

        try:
            page = await context.new_page()
            for event, handler in (("console", on_console), ("pageerror", on_error), ("requestfailed", on_failed),
                                   ("request", on_request), ("response", on_response), ("requestfinished", on_done)):
                page.on(event, handler)
            if document is not None:  # the tab opened before the deploy: its entry document is the previous one
                async def previous(route: Any) -> None:
                    await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=document)
                await page.route(url, previous)
            await page.add_init_script(INIT_SCRIPT)
            try:
                answer = await page.goto(url, wait_until="load", timeout=self.navigation_s * 1000)
                seen.status = answer.status if answer is not None else None
            except PlaywrightError as exc:
                seen.error = " ".join(str(exc).split("\n")[0].split())[:MAX_TEXT]
            if seen.status is not None:  # the document came: what it did next is worth waiting for (bounded)
                await self._observe(page, seen, inflight)
            listening[0] = False
            if seen.troubled and failing:
                # the document first (once: a document that failed is also among the failing requests)
                failing_ids = {id(request) for request, _, _ in failing}
                seen.har = await self._har(seen, [d for d in own_document[:1] if id(d[0]) not in failing_ids]
                                           + failing)
            if seen.troubled and self.shots is not None:
                kind = "-previous" if document is not None else ""
                shot = self.shots / f"{_slug(t.domain + '-' + path)}{kind}-round{round_no}.png"
                try:
                    if await self._shows_a_secret(page):  # an image cannot be redacted: none is written
                        seen.screenshot_withheld = "the page shows a secret value (a ${VAR} of the target)"
                    else:
                        shot.parent.mkdir(parents=True, exist_ok=True)
                        await page.screenshot(path=str(shot), timeout=SCREENSHOT_TIMEOUT_S * 1000)
                        seen.screenshot = str(shot)
                except (PlaywrightError, OSError):
                    seen.screenshot = None
        finally:
            listening[0] = False
            await context.close()
        return seen

    def handover(self, path: str, document: bytes, script: str, options: dict[str, Any] | None = None) -> Handover:
        """The service worker's handover to a new release, played in a tab of its own (service_worker_handover)."""
        # the script, the page, up to SW_NAVIGATIONS navigations before the deploy and as many after it
        budget = self.navigation_s * (2 + 2 * SW_NAVIGATIONS) + SW_ACTIVE_WITHIN_S + 2 * SW_UPDATE_S * SW_NAVIGATIONS
        with self._lock:
            if self.closed:
                raise CouldNotJudge("could not judge: the browser was closed (the run ended)")
        result: Handover = self._call(self._handover(path, document, script, options or {}), budget + 5,
                                      f"play a deploy under the service worker of {path}")
        return result

    async def _handover(self, path: str, document: bytes, script: str, options: dict[str, Any]) -> Handover:
        """Before the deploy, the tab's entry document and the worker's script are the edge's current ones (the
        document as the check fetched it, the script as the browser gets it) with a mark (the release before): the
        worker is registered as the page registers it, activates, and answers a navigation of the tab. Then the
        deploy: the edge's own answers. The tab navigates up to SW_NAVIGATIONS times (the worker updating between
        them, as browsers check sw.js on navigation) and must get the current document. Only documents and what the
        worker itself fetches load in this tab (the page's own subresources are refused: the other checks judge
        them), which keeps each navigation to one request."""
        from playwright.async_api import Error as PlaywrightError

        t = self.target
        url = t.url(path)
        seen = Handover(url, script, command=self.command(url))
        entries = {urlsplit(url).path, "/index.html"}
        script_path = urlsplit(script).path

        def entry_document(address: str) -> bool:
            parts = urlsplit(address)
            # a precache keyed by the file's revision (Workbox's __WB_REVISION__) fetches each release's own copy
            return parts.hostname == t.domain and parts.path in entries and "__WB_REVISION__" not in parts.query

        def worker_script(address: str) -> bool:
            return urlsplit(address).path == script_path

        async def before(route: Any) -> None:
            await route.fulfill(status=200, headers={"content-type": "text/html; charset=utf-8",
                                                     "cache-control": "no-cache"}, body=document + BEFORE_MARK)

        script_answer: list[Any] = []

        async def before_script(route: Any) -> None:
            body, kind = script_answer
            await route.fulfill(status=200, headers={"content-type": kind, "cache-control": "no-cache"},
                                body=body + BEFORE_SCRIPT_MARK)

        async def documents_only(route: Any) -> None:
            request = route.request
            if request.service_worker is None and request.resource_type != "document" and not worker_script(request.url):
                await route.abort()
            else:
                await route.fallback()

        context = await self._browser.new_context(ignore_https_errors=t.insecure, extra_http_headers=t.headers or None,
                                                  viewport={"width": 1280, "height": 800})
        try:
            page = await context.new_page()
            timeout = self.navigation_s * 1000
            try:
                answer = await page.goto(script, wait_until="load", timeout=timeout)  # the script, as the browser gets it
                if answer is None or answer.status != 200:
                    seen.error = f"GET {script} -> {answer.status if answer is not None else 'no response'} in the browser"
                    return seen
                script_answer[:] = [await answer.body(), answer.headers.get("content-type") or "text/javascript"]
                await context.route("**/*", documents_only)  # the routes added later are asked first
                await context.route(entry_document, before)
                await context.route(worker_script, before_script)
                await page.goto(url, wait_until="load", timeout=timeout)
                ready = await page.evaluate(SW_REGISTER_SCRIPT, [script, options, SW_ACTIVE_WITHIN_S * 1000])
                seen.active, seen.state = bool(ready["active"]), str(ready["state"])
                if not seen.active:
                    return seen
                for _ in range(SW_NAVIGATIONS):  # controlled navigations: the worker sees the release before
                    answer = await page.reload(wait_until="load", timeout=timeout)
                    if answer is None or answer.from_service_worker:
                        break
                await context.unroute(worker_script, before_script)  # the deploy
                await context.unroute(entry_document, before)
                for _ in range(SW_NAVIGATIONS):
                    answer = await page.reload(wait_until="load", timeout=timeout)
                    body = await answer.body() if answer is not None else b""
                    got = Navigation(answer.status if answer is not None else None,
                                     bool(answer is not None and answer.from_service_worker), BEFORE_MARK in body)
                    seen.navigations.append(got)
                    if seen.handed_over:
                        break
                    # still the release before: the worker's update (sw.js checked, as on every navigation) settles
                    got.worker = str(await page.evaluate(SW_UPDATE_SCRIPT, SW_UPDATE_S * 1000))
            except PlaywrightError as exc:
                seen.error = redact(" ".join(str(exc).split("\n")[0].split())[:MAX_TEXT])
        finally:
            await context.close()
        return seen

    async def _har(self, seen: PageLoad, requests: list[tuple[Any, Any, str]]) -> dict[str, Any] | None:
        """The HAR 1.2 excerpt of the page's failing requests (har.py), read from the browser (bounded); None when
        they could not be read in time."""
        protocol = {"h2": "HTTP/2.0", "http/1.1": "HTTP/1.1", "h3": "HTTP/3"}.get(
            str(seen.timings.get("protocol") or ""), "")
        try:
            captured = await asyncio.wait_for(
                asyncio.gather(*(_capture(r, a, p, protocol) for r, a, p in requests[:har.MAX_ENTRIES])),
                timeout=HAR_TIMEOUT_S)
        except asyncio.TimeoutError:
            return None
        first = next((c.timing.get("startTime") for c in captured if c.timing.get("startTime")), None)
        return har.excerpt(seen.url, list(captured), started_ms=first, on_load_ms=seen.timings.get("load_ms"),
                           browser=str(getattr(self._browser, "version", "")))

    @staticmethod
    async def _shows_a_secret(page: Any) -> bool:
        """Whether the page's visible text, title or address holds a secret value (its screenshot would show it).
        When that cannot be read, the page is taken to show one: no screenshot rather than a leak."""
        from playwright.async_api import Error as PlaywrightError

        if not has_secrets():
            return False
        try:
            text = await asyncio.wait_for(page.evaluate(
                "() => [location.href, document.title, document.body ? document.body.innerText : '',"
                " Array.from(document.querySelectorAll('input, textarea')).map(e => e.value).join(' ')].join(' ')"),
                timeout=SCREENSHOT_TIMEOUT_S)
        except (PlaywrightError, asyncio.TimeoutError):
            return True
        return redact(str(text)) != str(text)

    async def _observe(self, page: Any, seen: PageLoad, inflight: set[int]) -> None:
        """After the load event: the ready selector, then the network settling, then the page's own records."""
        from playwright.async_api import Error as PlaywrightError

        if seen.ready:
            try:
                found = await page.wait_for_function(READY_SCRIPT, arg=seen.ready,
                                                     timeout=self.target.browser.ready_within * 1000)
                seen.ready_ms = float(await found.json_value())
            except PlaywrightError:
                seen.ready_ms = None
        await _quiet(inflight, SETTLE_S)  # still busy after that: what failed so far is judged
        try:
            own = await page.evaluate(TIMINGS_SCRIPT)
            seen.timings = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in own["timings"].items()}
            for text in own["csp"]:
                _keep(seen.csp, text)
            for worker in own.get("sw") or []:
                seen.service_worker = seen.service_worker or redact(str(worker.get("url")))
                seen.service_worker_options = {k: str(v) for k, v in (worker.get("options") or {}).items()
                                               if k in ("scope", "type") and v}
                seen.service_worker_error = seen.service_worker_error or (
                    redact(str(worker["error"]))[:MAX_TEXT] if worker.get("error") else None)
                break
        except PlaywrightError:
            pass

    def close(self) -> None:
        """Close Chromium and Playwright (bounded), stop the thread, delete the throw-away HOME; idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        atexit.unregister(self.close)
        if self._loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                future.result(CLOSE_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - closing is best effort, bounded
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CLOSE_TIMEOUT_S)
        shutil.rmtree(self.home, ignore_errors=True)

    async def _shutdown(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()


async def _quiet(inflight: set[int], limit_s: float) -> None:
    """Until no request has been in flight for QUIET_S (module failures and lazy imports arrive after load), at most
    `limit_s`."""
    end, quiet_since = time.monotonic() + limit_s, None
    while time.monotonic() < end:
        if inflight:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_S:
            return
        await asyncio.sleep(0.025)


def _keep(into: list[Any], item: Any) -> None:
    if len(into) < MAX_EVENTS:
        into.append(redact(item[:MAX_TEXT]) if isinstance(item, str) else item)


def _console_line(text: str, location: dict[str, Any] | None) -> str:
    where = (location or {}).get("url") or ""
    return " ".join(text.split()) + (f" (at {where}:{(location or {}).get('lineNumber', 0) + 1})" if where else "")


async def _capture(request: Any, response: Any, problem: str, protocol: str) -> har.Captured:
    """One request's HAR material from Playwright's objects; what cannot be read is left out (never raises)."""
    from playwright.async_api import Error as PlaywrightError

    found = har.Captured(request.method, request.url, problem=problem, http_version=protocol,
                         timing=dict(request.timing or {}), error=None if response is not None else request.failure)
    try:
        found.request_headers = list((await request.all_headers()).items())
        found.post_data = request.post_data_buffer
        if response is not None:
            found.status, found.status_text = response.status, response.status_text
            found.response_headers = [(h["name"], h["value"]) for h in await response.headers_array()]
            found.body = await response.body()
    except PlaywrightError:
        pass
    return found


def _response(seen: PageLoad, response: Any) -> str:
    request = response.request
    kind, status = request.resource_type, response.status
    content_type = (response.headers.get("content-type") or "").split(";")[0].strip()
    problem = ""
    if status >= 400:
        problem = f"HTTP {status}"
    elif kind == "script" and 200 <= status < 300 and not JS_TYPES.match(content_type):
        problem = f"a script answered as {content_type or 'no type'}: the browser refuses to run it (wrong MIME type)"
    elif kind == "stylesheet" and 200 <= status < 300 and content_type.lower() != "text/css":
        problem = f"a stylesheet answered as {content_type or 'no type'}: the browser ignores it (wrong MIME type)"
    if problem:
        _keep(seen.failed, BrowserRequest(request.method, redact(response.url), kind, status, content_type, problem))
    return problem


# -- what the checks call -------------------------------------------------------------------------------------

def page_load(edge: Any, target: Target, path: str, document: bytes | None = None) -> PageLoad:
    """The browser's load of `path` in the check's round (edge: the check's Attempt). Skipped (NotApplicable) when
    there is no browser here; could not judge when it would not start. Its timings go beside the check's outcome."""
    reason = unavailable(target)
    if reason is not None:
        raise NotApplicable(reason)
    run = edge.run
    browser = run.once("browser", lambda: _open(run, target))
    if isinstance(browser, CouldNotJudge):
        raise browser
    seen = browser.load(path, getattr(run, "round", 0), document)
    edge.data["properties"] = seen.properties()
    if seen.har is not None:  # kept with the check's result when it does not pass (model.check_result)
        edge.data["har"] = seen.har
    return seen


def service_worker_handover(edge: Any, target: Target, path: str, document: bytes, script: str,
                            options: dict[str, Any] | None = None) -> Handover:
    """The page's service worker handing over to a new release (Browser.handover), with the run's one browser."""
    browser = edge.run.once("browser", lambda: _open(edge.run, target))
    if isinstance(browser, CouldNotJudge):
        raise browser
    seen = browser.handover(path, document, script, options)
    edge.data["properties"] = [*edge.data.get("properties", ()), ("service_worker", script),
                               ("handover", seen.summary())]
    return seen


def _open(run: Any, target: Target) -> Browser | CouldNotJudge:
    """The run's browser, closed with the run; a start that failed is kept as the reason (not retried per check)."""
    reports = getattr(run, "reports_dir", None)
    shots = Path(reports) / "browser" if reports is not None else None
    try:
        browser = Browser(target, shots, run.deadlines[1])
    except CouldNotJudge as exc:
        return exc
    run.closing(browser.close)
    return browser


def same_origin_paths(seen: PageLoad, target: Target, limit: int = 5) -> list[str]:
    """The failed requests' paths on the target's own origin (fetched again over HTTP as evidence), at most `limit`."""
    paths = []
    for r in seen.failed:
        parts = urlsplit(r.url)
        if parts.scheme == "https" and parts.hostname == target.domain and r.status is not None:
            paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return list(dict.fromkeys(paths))[:limit]
