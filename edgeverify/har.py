"""A failing browser page's requests as a HAR 1.2 excerpt (http://www.softwareishard.com/blog/har-12-spec/).

Only the requests that failed in the page (and the page's document, whose headers say what policy it ran under) are
kept, each size-bounded (header values, a body excerpt), and the whole excerpt bounded in bytes: it travels in the
JSON report and shows in report.html. Everything is redacted here, as it is formed: secret values in any encoding
become ${VAR}, and credentials (Authorization, Cookie, Set-Cookie, X-Api-Key) are masked (redact.redact_header).
Cookies are not listed apart (HAR's `cookies` stay empty): they would only repeat the masked headers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import __version__
from .redact import redact, redact_header

VERSION = "1.2"
MAX_ENTRIES = 10  # the document and at most 9 failing requests
MAX_VALUE = 1000  # characters kept of one header or query value
MAX_BODY = 2048  # bytes of a body kept as its excerpt
MAX_BYTES = 64_000  # the whole excerpt, serialized: entries past it are left out (and counted in the log's comment)
TEXTUAL = re.compile(r"^text/|[/+](json|javascript|ecmascript|xml|html|x-www-form-urlencoded)\b", re.I)
PAGE_ID = "page_1"


@dataclass(slots=True)
class Captured:
    """What the browser gave for one request: plain values, collected from Playwright's objects (browser.py)."""

    method: str
    url: str
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    post_data: bytes | None = None
    status: int | None = None  # None: no response (aborted, blocked, refused)
    status_text: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    timing: dict[str, float] = field(default_factory=dict)  # Playwright's Request.timing (ms; -1: not known)
    error: str | None = None  # why no response came
    problem: str = ""  # what was wrong with it, in words (the entry's comment)
    http_version: str = ""


def _iso(epoch_ms: float | None) -> str:
    when = dt.datetime.fromtimestamp((epoch_ms or 0) / 1000, dt.timezone.utc) if epoch_ms and epoch_ms > 0 \
        else dt.datetime.now(dt.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cut(text: str, limit: int = MAX_VALUE) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


def _headers(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": redact(str(k)), "value": _cut(redact_header(str(k), str(v)))} for k, v in pairs]


def _span(timing: dict[str, float], start: str, end: str) -> float:
    a, b = timing.get(start, -1), timing.get(end, -1)
    return round(b - a, 3) if a is not None and b is not None and a >= 0 and b >= a else -1


def _timings(timing: dict[str, float]) -> dict[str, float]:
    """HAR timings from Playwright's (Resource Timing, ms from the request's start): send, wait and receive are
    required (0 when unknown), blocked/dns/connect/ssl are -1 when they did not apply."""
    found = {"blocked": -1.0, "dns": _span(timing, "domainLookupStart", "domainLookupEnd"),
             "connect": _span(timing, "connectStart", "connectEnd"),
             "ssl": _span(timing, "secureConnectionStart", "connectEnd"), "send": 0.0,
             "wait": max(0.0, _span(timing, "requestStart", "responseStart")),
             "receive": max(0.0, _span(timing, "responseStart", "responseEnd"))}
    return found


def _body(body: bytes | None, mime: str) -> dict[str, Any]:
    content: dict[str, Any] = {"size": len(body) if body is not None else 0, "mimeType": mime or "x-unknown"}
    if body is None:
        return content
    if not TEXTUAL.search(mime or ""):
        content["comment"] = "body not shown (not text)"
        return content
    content["text"] = redact(body[:MAX_BODY].decode("utf-8", "replace"))
    if len(body) > MAX_BODY:
        content["comment"] = f"the first {MAX_BODY} of {len(body)} bytes"
    return content


def entry(c: Captured) -> dict[str, Any]:
    """One HAR entry, redacted and bounded."""
    url = redact(c.url)
    request_type = next((v for k, v in c.request_headers if k.lower() == "content-type"), "")
    request: dict[str, Any] = {
        "method": c.method, "url": url, "httpVersion": c.http_version, "cookies": [],
        "headers": _headers(c.request_headers),
        "queryString": [{"name": redact(k), "value": _cut(redact(v))}
                        for k, v in parse_qsl(urlsplit(c.url).query, keep_blank_values=True)],
        "headersSize": -1, "bodySize": len(c.post_data) if c.post_data else 0}
    if c.post_data:
        request["postData"] = {"mimeType": request_type or "application/octet-stream",
                               "text": redact(c.post_data[:MAX_BODY].decode("utf-8", "replace"))}
    mime = next((v for k, v in c.response_headers if k.lower() == "content-type"), "")
    response: dict[str, Any] = {
        "status": c.status or 0, "statusText": c.status_text if c.status is not None else "",
        "httpVersion": c.http_version if c.status is not None else "", "cookies": [],
        "headers": _headers(c.response_headers), "content": _body(c.body, mime),
        "redirectURL": redact(next((v for k, v in c.response_headers if k.lower() == "location"), "")),
        "headersSize": -1, "bodySize": len(c.body) if c.body is not None else -1}
    if c.error:
        response["_error"] = redact(c.error)  # as Chrome's DevTools export names it: no response came
    timings = _timings(c.timing)
    found: dict[str, Any] = {
        "pageref": PAGE_ID, "startedDateTime": _iso(c.timing.get("startTime")),
        "time": round(sum(v for k, v in timings.items() if k != "ssl" and v > 0), 3),
        "request": request, "response": response, "cache": {}, "timings": timings}
    if c.problem:
        found["comment"] = redact(c.problem)
    return found


def excerpt(page_url: str, captured: list[Captured], *, started_ms: float | None = None,
            on_load_ms: float | None = None, browser: str = "") -> dict[str, Any]:
    """The HAR 1.2 log of one page's failing requests: at most MAX_ENTRIES, at most MAX_BYTES serialized."""
    entries = [entry(c) for c in captured[:MAX_ENTRIES]]
    left_out = max(0, len(captured) - MAX_ENTRIES)
    while len(entries) > 1 and len(json.dumps(entries)) > MAX_BYTES:
        entries.pop()
        left_out += 1
    comment = (f"an excerpt: the requests that failed in {redact(page_url)} and its document; bodies cut to "
               f"{MAX_BODY} bytes, secrets and credentials redacted")
    if left_out:
        comment += f"; {left_out} more left out"
    return {"log": {
        "version": VERSION, "creator": {"name": "edgeverify", "version": __version__},
        "browser": {"name": "Chromium", "version": browser},
        "pages": [{"startedDateTime": _iso(started_ms), "id": PAGE_ID, "title": redact(page_url),
                   "pageTimings": {"onContentLoad": -1, "onLoad": round(on_load_ms, 3) if on_load_ms else -1}}],
        "entries": entries, "comment": comment}}
