"""The browser suite's Chromium: one headless Chromium per run, shared by the checks, closed with the run.

Playwright (PyPI) drives Debian's Chromium (no browser download). The browser reaches the edge the way the HTTP
checks do: the target's connect_to entries become Chromium's --host-resolver-rules, and the target's CA bundle is
trusted through an NSS database under a throw-away HOME (certutil, Debian's libnss3-tools), so certificates are
verified for real; only `insecure: true` turns that off.

Playwright's API is bound to one thread, and checks run on many: the browser lives on a thread of its own running an
asyncio loop, and a check hands it a page to load and waits, bounded, for the `PageLoad`. The checks of one round
that judge the same page share one load (each round loads again, as the HTTP answers are fetched again).
Every step is bounded: launch, navigation, the ready selector, settling, screenshots and closing.
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

from .errors import CouldNotJudge, NotApplicable
from .redact import has_secrets, redact
from .target import Target

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium",)  # Debian's binary; /usr/bin/chromium is a shell wrapper
LAUNCH_TIMEOUT_S = 30.0  # a cold Chromium on a busy 2-core machine
NAVIGATION_TIMEOUT_S = 30.0  # the load event, at most (and at most the target's connect + total bounds)
SETTLE_S = 2.0  # at most this long after load (and ready) for the network to go quiet: late failures arrive then
QUIET_S = 0.15  # no request in flight for this long: the page has settled
SCREENSHOT_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 10.0
MAX_EVENTS = 50  # of each kind kept per page (a page logging in a loop stays bounded)
MAX_TEXT = 300  # characters kept of one console message or exception

# Runs before the page's own scripts in every document (CDP, not subject to the page's CSP).
INIT_SCRIPT = """
window.__edgeverify = {csp: [], lcp: null};
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
  const own = window.__edgeverify || {csp: [], lcp: null};
  return {timings: {ttfb_ms: nav ? nav.responseStart : null, fcp_ms: fcp ? fcp.startTime : null,
                    lcp_ms: own.lcp, load_ms: nav ? nav.loadEventEnd : null, transfer_bytes: bytes,
                    requests: resources.length + 1, protocol: nav ? nav.nextHopProtocol : null},
          csp: own.csp};
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
                budget = self.navigation_s + self.target.browser.ready_within + SETTLE_S + SCREENSHOT_TIMEOUT_S
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

        def on_console(message: Any) -> None:
            if listening[0] and message.type == "error":
                _keep(seen.console, _console_line(message.text, message.location))

        def on_error(error: Any) -> None:
            if listening[0]:
                _keep(seen.exceptions, str(error))

        def on_failed(request: Any) -> None:
            inflight.discard(id(request))
            if listening[0]:
                _keep(seen.failed, BrowserRequest(request.method, redact(request.url), request.resource_type, None,
                                                  problem=f"failed: {request.failure or 'aborted'}"))

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
                _response(seen, response)

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


def _response(seen: PageLoad, response: Any) -> None:
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
