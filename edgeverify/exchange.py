"""A recorded request and response: what rules judge, reports show and curl reproduces."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .redact import redact, redact_header

_DERIVING = threading.RLock()  # a view is derived once even when several checks' threads ask at the same time
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
BODY_EXCERPT = 300  # characters of body shown in a failure or report


@dataclass(slots=True)
class Exchange:
    method: str
    url: str
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes | None = None
    status: int | None = None  # None: no response (see error)
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # as received, duplicates kept
    body: bytes = b""  # content-decoded, at most the size bound; empty when not kept
    body_truncated: bool = False
    body_size: int = 0  # content-decoded bytes received (counted even when the body is not kept)
    body_kept: bool = True  # False: a 2xx asset body no rule reads was counted, not kept (client.keeps_body)
    started_at: float = 0.0  # epoch seconds
    elapsed_s: float = 0.0  # whole exchange
    ttfb_s: float = 0.0  # until the response headers
    dns_s: float = 0.0  # libcurl's NAMELOOKUP, CONNECT and APPCONNECT times, from the start (0: a reused connection)
    connect_s: float = 0.0
    tls_s: float = 0.0
    address: str | None = None  # the edge address that answered (libcurl's PRIMARY_IP)
    error: str | None = None  # a network failure, in words
    # where a network failure happened: "dns", "connect", "tls", "headers", "body", "deadline" (the run's
    # deadline stopped it) or "unreachable" (not sent: the edge failed repeatedly); None when answered whole
    error_phase: str | None = None
    connect_to: tuple[str, ...] = ()
    ca_bundle: str | None = None
    insecure: bool = False
    http_version: str | None = None  # "1.1", "2"
    http2_offered: bool = True  # the client offered HTTP/2 (as curl does); False: it spoke HTTP/1.1 only
    # why it was sent a second time, on a new connection: the kept-alive one it went out on failed before any
    # answer (bytes an earlier answer left on it, or closed by the edge); None: sent once
    retried: str | None = None
    ref: str = ""  # the exchange's id in reports, set when first reported
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)  # views derived once (lint)

    def derived(self, key: str, derive: Callable[[Exchange], Any]) -> Any:
        """A view of this answer (parsed assets, lint), computed once however many checks read it."""
        try:
            return self.memo[key]
        except KeyError:
            pass
        with _DERIVING:
            if key not in self.memo:
                self.memo[key] = derive(self)
            return self.memo[key]

    def header(self, name: str) -> str | None:
        """The header's values joined as HTTP allows, or None when absent."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]

    @property
    def path(self) -> str:
        """The request path with its query."""
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @property
    def content_type(self) -> str:
        return media_type(self.header("content-type"))

    @property
    def x_cache(self) -> str:
        return self.header("x-cache") or ""

    @property
    def complete(self) -> bool:
        """The status, the headers and the body to its end (or to the size bound) arrived."""
        return self.status is not None and self.error is None

    def revalidation_headers(self) -> dict[str, str] | None:
        """The headers of a conditional GET revalidating this answer, or None when it has no validator."""
        if self.status != 200:
            return None
        etag = self.header("etag")
        if etag:
            return {"If-None-Match": etag}
        modified = self.header("last-modified")
        return {"If-Modified-Since": modified} if modified else None

    @property
    def size(self) -> int:
        """The decoded body's size in bytes, whether or not the body was kept."""
        return max(self.body_size, len(self.body))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def text_start(self, chars: int) -> str:
        """The body's first `chars` characters, decoding no more of it than that needs."""
        return self.body[:4 * chars].decode("utf-8", "replace")[:chars]

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        if not _may_be_json(self.body):  # not JSON from its first character: no need to decode it all to say so
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def status_line(self) -> str:
        if self.status is None:
            return f"no response ({self.error})"
        return f"{self.status} {self.reason}".strip()

    def summary(self) -> str:
        """One line: request, status, and the headers that tell where the answer came from."""
        parts = [f"{self.method} {self.url} -> {self.status_line}"]
        for name in ("content-type", "location", "x-cache", "x-amz-cf-pop"):
            value = self.header(name)
            if value:
                parts.append(f"{name}: {value}")
        parts.append(f"{self.elapsed_s * 1000:.0f} ms")
        if self.retried:
            parts.append(f"sent again on a new connection: {self.retried}")
        return redact("  |  ".join(parts))

    def body_excerpt(self) -> str:
        """The body's first BODY_EXCERPT characters, whitespace collapsed, secrets redacted ("…": there is more).

        Only as much of the body is decoded as the excerpt needs, however large the body."""
        size = 4 * BODY_EXCERPT
        while True:
            text = " ".join(self.body[:size].decode("utf-8", "replace").split())
            if len(text) > BODY_EXCERPT or size >= len(self.body):
                break
            size *= 4
        return redact(text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else ""))

    def curl(self) -> str:
        """The curl command that sends the same request the same way (secrets as ${VAR})."""
        args = ["curl", "-sS", "-i", "--max-time", "30"]
        if self.method == "HEAD":
            args.append("-I")
        elif self.method != "GET":
            args += ["-X", self.method]
        host = (urlsplit(self.url).hostname or "").lower()
        for spec in self.connect_to:
            if spec.split(":", 1)[0].lower() == host:  # the mapping this request used (not the other hosts')
                args += ["--connect-to", spec]
        if self.ca_bundle:
            args += ["--cacert", self.ca_bundle]
        if self.insecure:
            args.append("--insecure")
        if not self.http2_offered and self.url.startswith("https:"):
            args.append("--http1.1")  # as the check did: curl would offer HTTP/2
        for name, value in self.request_headers:
            if name.lower() in ("content-length", "connection", "user-agent") or (name, value) == ("Accept", "*/*"):
                continue  # curl sends its own
            if name.lower() == "accept-encoding" and "gzip" in value:
                args.append("--compressed")  # sends Accept-Encoding and decodes, as the check did
                continue
            args += ["-H", f"{name}: {redact(value)}"]
        if self.request_body:
            args += ["--data-binary", redact(self.request_body.decode("utf-8", "replace"))]
        args.append(self.url)
        # Keep ${VAR} expandable by the shell: quote everything else.
        return " ".join(_quote(a) for a in args)

    def to_dict(self, full: bool = True) -> dict[str, Any]:
        """A JSON-ready record for reports, secrets redacted, body as an excerpt.

        Not `full` (an exchange only passing checks judged): request, status and headers, without the body
        excerpt and the curl line, which are for failures.
        """
        return {
            "request": {"method": self.method, "url": redact(self.url),
                        "headers": _shown_headers(self.request_headers)},
            "status": self.status,
            "headers": _shown_headers(self.headers),
            "body_excerpt": self.body_excerpt() if full else None,
            "body_bytes": self.size,
            "started_at": round(self.started_at, 3),
            "elapsed_ms": round(self.elapsed_s * 1000, 1),
            "ttfb_ms": round(self.ttfb_s * 1000, 1),
            "timings": {"dns_ms": round(self.dns_s * 1000, 2), "connect_ms": round(self.connect_s * 1000, 2),
                        "tls_ms": round(self.tls_s * 1000, 2)},
            "address": self.address,
            "x_cache": self.x_cache or None,
            "pop": self.header("x-amz-cf-pop"),
            "http": self.http_version,
            "error": self.error,
            "error_phase": self.error_phase,
            "retried": self.retried,
            "curl": self.curl() if full else None,
        }


def _may_be_json(body: bytes) -> bool:
    """Whether the body's first character (in the encoding json.loads would read it in) can start JSON."""
    head = body[:64]
    first = head.decode(json.detect_encoding(head), "ignore").lstrip(" \t\r\n\ufeff")[:1]
    return first in '[{"-tfnNI0123456789' if first or len(body) <= len(head) else True


def media_type(content_type: str | None) -> str:
    """A Content-Type value's media type, lower-case, without parameters ("" when absent)."""
    return (content_type or "").split(";")[0].strip().lower()


def _shown_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers as reports show them; a field redaction leaves alone is the very (shared) tuple, not a copy."""
    shown = []
    for pair in headers:
        value = redact_header(*pair)
        shown.append(pair if value is pair[1] else (pair[0], value))
    return shown


def _quote(arg: str) -> str:
    """Shell-quote; a redacted ${VAR} stays expandable, and nothing else in the value is expanded."""
    if not _PLACEHOLDER.search(arg):
        return shlex.quote(arg)
    pieces = _PLACEHOLDER.split(arg)  # the text between placeholders, escaped for double quotes
    escaped = [re.sub(r'([\\"`$])', r"\\\1", piece) for piece in pieces]
    placeholders = _PLACEHOLDER.findall(arg) + [""]
    return '"' + "".join(e + p for e, p in zip(escaped, placeholders, strict=True)) + '"'


@dataclass(slots=True)
class TlsInfo:
    """What one TLS handshake showed about the certificate and protocol."""

    host: str
    verified: bool
    verify_error: str | None = None
    protocol: str | None = None
    subject_names: list[str] = field(default_factory=list)
    issuer: str = ""
    not_after: dt.datetime | None = None
    error: str | None = None  # no handshake at all
    reproduce: str = ""  # the command that shows the same handshake
    chain_sent: tuple[str, ...] = ()  # subjects of the certificates the edge sent, leaf first (when unverified)

    def days_left(self, now: dt.datetime | None = None) -> float | None:
        if self.not_after is None:
            return None
        now = now or dt.datetime.now(dt.timezone.utc)
        return (self.not_after - now).total_seconds() / 86400
