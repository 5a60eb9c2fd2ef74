"""The edge client: the one place that talks to the network.

Every request goes through `EdgeClient.request`, which sends it with libcurl (pycurl): connections
kept alive, host:port mapped like `curl --connect-to` (TLS SNI and certificate still checked against
the domain), redirects never followed unless asked, connect, idle-read and total time bounded and the
body size bounded, and the exchange recorded for rules and reports. libcurl does the protocol work in
C, outside the GIL: a request costs about a tenth of the CPU of a pure-Python HTTP stack, which is
what keeps thousands of assets fast (tests/benchmark.py). The `curl` line of a failure is the same
program's command-line face.
"""

from __future__ import annotations

import json as jsonlib
import math
import os
import socket
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import certifi
import pycurl
from requests.utils import requote_uri

from .exchange import Exchange, TlsInfo
from .target import Target, parse_connect_to

USER_AGENT = "edgeverify/0.1 (+post-deploy verification)"
ACCEPT_ENCODING = "gzip, br" if "brotli" in pycurl.version.lower() else "gzip"  # what browsers ask for
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_CONNECTIONS = 16  # per edge address, like a browser's HTTP/1.1 pool times a few
BREAKER_THRESHOLD = 3  # consecutive network failures after which an address is not tried again this round
_WEB = pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS

# One curl handle per thread: its connections stay alive between that thread's requests, so a pool of
# N sending threads keeps at most N connections to an edge.
_local = threading.local()


class _Response:
    """What arrives for one request, gathered by libcurl's header and body callbacks."""

    __slots__ = ("status", "reason", "headers", "headers_done", "chunks", "size", "limit", "truncated", "keep")

    def __init__(self, limit: int, keep: bool | None) -> None:
        self.status: int | None = None
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self.headers_done = False
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.truncated = False
        self.keep = keep  # None: decided by the first body bytes' response (keeps_body)

    def on_header(self, line: bytes) -> None:
        if line.startswith(b"HTTP/"):  # a new response (after a 1xx, or a followed redirect) starts over
            parts = line.decode("latin-1").split(None, 2)
            try:
                self.status = int(parts[1])
            except (IndexError, ValueError):
                self.status = None
            self.reason = parts[2].strip() if len(parts) > 2 else ""
            self.headers, self.headers_done = [], False
        elif line in (b"\r\n", b"\n"):
            self.headers_done = True
        elif line[:1] in (b" ", b"\t") and self.headers:  # an obsolete folded continuation line
            name, value = self.headers[-1]
            self.headers[-1] = (name, f"{value} {line.decode('latin-1').strip()}")
        else:
            field = _FIELDS.get(line)
            if field is None:
                name, sep, value = line.decode("latin-1").partition(":")
                if not sep:
                    return
                field = (sys.intern(name.strip()), value.strip())
                if len(_FIELDS) < _FIELDS_MAX:
                    _FIELDS[line] = field
            self.headers.append(field)

    def on_body(self, data: bytes) -> int | None:
        """Content-decoded by libcurl; past the size bound the transfer stops (a gzip bomb is cut here)."""
        if self.keep is None:
            self.keep = keeps_body(self.status, self.headers)
        self.size += len(data)
        if self.size > self.limit:
            if self.keep:
                self.chunks.append(data[: len(data) - (self.size - self.limit)])
            self.size = self.limit
            self.truncated = True
            return 0  # anything but len(data): libcurl stops with a write error
        if self.keep:
            self.chunks.append(data)
        return None


# Header lines repeat across thousands of answers (Server, Cache-Control, Content-Type...): each distinct
# line is parsed once and its (name, value) shared, so evidence memory grows with what differs.
_FIELDS: dict[bytes, tuple[str, str]] = {}
_FIELDS_MAX = 50_000
# A 2xx answer of a static asset type (scripts, styles, images, fonts, media) is counted, not kept: no rule
# reads those bytes, and a site's thousands of assets would otherwise all stay in memory. Documents, API
# answers and error pages, which rules and diagnoses read, are kept whole.
_ASSET_TYPES = ("text/javascript", "application/javascript", "application/x-javascript", "text/css",
                "application/wasm", "application/manifest+json", "image/", "font/", "application/font-", "video/",
                "audio/")


def keeps_body(status: int | None, headers: list[tuple[str, str]]) -> bool:
    """Whether a response's body is kept as evidence (else only its size is)."""
    if status is None or not 200 <= status < 300:
        return True
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "").split(";")[0].strip().lower()
    return not content_type.startswith(_ASSET_TYPES)


class Verbs:
    """get/head/options over a `request(method, path, **kwargs)` (the transport's, or an attempt's)."""

    __slots__ = ()
    request: Callable[..., Exchange]  # given by the class that uses this

    def get(self, path: str, **kwargs: Any) -> Exchange:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Exchange:
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Exchange:
        return self.request("OPTIONS", path, **kwargs)


class EdgeClient(Verbs):
    """Sends requests to the target's domain; stateless apart from its connections and counters.

    Safe to share between threads: connections come from one bounded pool per edge address
    (`max_connections`, waiting when all are busy). Evidence (which exchanges a check judged, which
    unsafe request it sent) lives in the check's attempt (evidence.py), not here.
    """

    def __init__(self, target: Target, *, deadline: float | None = None) -> None:
        self.target = target
        self.connect_to = tuple(target.connect_to)
        self.mapping = dict(parse_connect_to(s) for s in self.connect_to)
        # curl's own form; an IPv6 address in brackets
        self._curl_connect_to = [f"{h}:{p}:{f'[{a}]' if ':' in a else a}:{ap}" for (h, p), (a, ap) in self.mapping.items()]
        self.deadline = deadline  # time.monotonic() after which nothing more is sent (the run's deadline)
        self.cancelled = threading.Event()  # set on interrupt: nothing more is sent
        self.stats = Stats()
        self.breaker = Breaker(threshold=BREAKER_THRESHOLD)
        # No proxy or netrc from the environment (we test the edge itself), no cookie jar.
        self.headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING, **target.headers}
        self.verify: bool | str = False if target.insecure else (target.ca_bundle or True)
        self._ca = target.ca_bundle or certifi.where()

    def close(self) -> None:
        """Nothing to release: each sending thread's handle (and its connections) ends with the thread."""

    def url(self, path: str, scheme: str = "https") -> str:
        return path if "://" in path else self.target.url(path, scheme)

    def address(self, url: str) -> tuple[str, int]:
        """The address a request to `url` dials (after --connect-to)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return self.mapping.get((host, port), (host, port))

    def request(self, method: str, path: str, *, scheme: str = "https", headers: dict[str, str] | None = None,
                json: Any = None, data: bytes | str | None = None, follow_redirects: bool = False,
                keep_body: bool | None = None) -> Exchange:
        """Send one request and return its recorded exchange; network failures are recorded, not raised.

        `keep_body`: True keeps the body whatever it is; None keeps the bodies rules read (see keeps_body).
        """
        method = method.upper()
        timeouts = self.target.timeouts
        url = requote_uri(self.url(path, scheme))
        sent = {**self.headers, **(headers or {})}
        body: bytes | None = data.encode() if isinstance(data, str) else data
        if json is not None:
            body = jsonlib.dumps(json, allow_nan=False).encode()
            if not any(k.lower() == "content-type" for k in sent):
                sent["Content-Type"] = "application/json"
        if body is not None:
            sent["Content-Length"] = str(len(body))
        ex = Exchange(method=method, url=url, request_headers=list(sent.items()), request_body=body,
                      started_at=time.time(), connect_to=self.connect_to, ca_bundle=self.target.ca_bundle,
                      insecure=self.target.insecure)
        total = timeouts.total
        if self.deadline is not None:
            total = min(total, self.deadline - time.monotonic())
        address = self.address(url)
        refused = self._refusal(address, total)
        if refused is not None:
            ex.error, ex.error_phase = refused
            return ex
        self.stats.count_request()
        curl = getattr(_local, "curl", None)
        if curl is None:
            curl = _local.curl = pycurl.Curl()
        got = _Response(self.target.max_body_bytes, keep_body)
        self._prepare(curl, method, url, sent, body, follow_redirects, total, got)
        start = time.monotonic()
        code, message = 0, ""
        try:
            curl.perform()
        except pycurl.error as exc:
            code, message = exc.args[0], str(exc.args[1])
        ex.elapsed_s = time.monotonic() - start
        ex.ttfb_s = curl.getinfo(pycurl.STARTTRANSFER_TIME)
        self.stats.count_connection(curl.getinfo(pycurl.NUM_CONNECTS))
        ex.http_version = _HTTP_VERSIONS.get(curl.getinfo(pycurl.INFO_HTTP_VERSION))
        if follow_redirects:
            ex.url = curl.getinfo(pycurl.EFFECTIVE_URL) or url
        if got.status is not None and (got.headers_done or code == 0):
            ex.status, ex.reason, ex.headers = got.status, got.reason, got.headers
            ex.body, ex.body_size, ex.body_truncated = b"".join(got.chunks), got.size, got.truncated
            ex.body_kept = got.keep is not False
        if code and not (code == pycurl.E_WRITE_ERROR and got.truncated) and not _last_redirect(code, ex):
            ex.error, ex.error_phase = _failure(code, message, curl, got, total, timeouts, url)
            if ex.error_phase != "body":  # the headers themselves did not arrive whole: none of them is trusted
                ex.status, ex.reason, ex.headers, ex.body, ex.body_size = None, "", [], b"", 0
        self.breaker.record(address, ex)
        return ex

    def _prepare(self, curl: pycurl.Curl, method: str, url: str, sent: dict[str, str], body: bytes | None,
                 follow_redirects: bool, total: float, got: _Response) -> None:
        timeouts = self.target.timeouts
        curl.reset()  # options from the last request go; the handle's live connections stay
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.PROTOCOLS, _WEB)
        curl.setopt(pycurl.REDIR_PROTOCOLS, _WEB)
        curl.setopt(pycurl.PROXY, "")  # never a proxy from the environment
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.PATH_AS_IS, 1)  # the path as the check wrote it, dot segments included
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        if self._curl_connect_to:
            curl.setopt(pycurl.CONNECT_TO, self._curl_connect_to)
        if self.target.insecure:
            curl.setopt(pycurl.SSL_VERIFYPEER, 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        else:
            curl.setopt(pycurl.CAINFO, self._ca)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(timeouts.connect, total) * 1000)))
        curl.setopt(pycurl.TIMEOUT_MS, max(1, int(total * 1000)))
        curl.setopt(pycurl.LOW_SPEED_LIMIT, 1)  # idle-read bound: less than a byte a second for `read` seconds
        curl.setopt(pycurl.LOW_SPEED_TIME, max(1, math.ceil(timeouts.read)))
        lines: list[bytes | str] = []
        for name, value in sent.items():
            if name.lower() == "accept-encoding":
                curl.setopt(pycurl.ACCEPT_ENCODING, value)  # sent as given, and the answer decoded by libcurl
            elif name.lower() != "content-length":
                lines.append(_header_line(name, value))
        if body is not None:
            lines.append("Expect:")  # no 100-continue round trip
            if not any(k.lower() == "content-type" for k in sent):
                lines.append("Content-Type:")  # libcurl would add a form type the check did not send
            curl.setopt(pycurl.POSTFIELDSIZE_LARGE, len(body))
            curl.setopt(pycurl.POSTFIELDS, body)
            if method != "POST":
                curl.setopt(pycurl.CUSTOMREQUEST, method)
        elif method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        elif method != "GET":
            curl.setopt(pycurl.CUSTOMREQUEST, method)
        curl.setopt(pycurl.HTTPHEADER, lines)
        if follow_redirects:
            curl.setopt(pycurl.FOLLOWLOCATION, 1)
            curl.setopt(pycurl.MAXREDIRS, 10)
        curl.setopt(pycurl.HEADERFUNCTION, got.on_header)
        curl.setopt(pycurl.WRITEFUNCTION, got.on_body)

    def _refusal(self, address: tuple[str, int], total: float) -> tuple[str, str] | None:
        """Why a request is not sent at all (run deadline, interrupt, an edge that keeps failing), or None."""
        if self.cancelled.is_set():
            return "not sent: the run was interrupted", "deadline"
        if total <= 0:
            return "not sent: the run's deadline (timeouts.run) had passed", "deadline"
        tripped = self.breaker.tripped(address)
        if tripped is not None:
            return tripped, "unreachable"
        return None

    def tls_handshake(self, minimum: ssl.TLSVersion | None = None, maximum: ssl.TLSVersion | None = None,
                      verify: bool | None = None) -> TlsInfo:
        """Handshake with the domain's HTTPS address and describe the certificate it presents."""
        host = self.target.domain
        addr = self.mapping.get((host.lower(), 443), (host, 443))
        verify = (not self.target.insecure) if verify is None else verify
        ctx = ssl.create_default_context(cafile=self.target.ca_bundle) if verify else ssl._create_unverified_context()
        with warnings.catch_warnings():  # probing deprecated versions is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            if minimum is not None:
                ctx.minimum_version = minimum
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # allow the legacy handshake we probe for
            if maximum is not None:
                ctx.maximum_version = maximum
        info = TlsInfo(host=host, verified=False, reproduce=self._openssl_line(addr, minimum))
        try:
            with socket.create_connection(addr, timeout=self.target.timeouts.connect) as sock:
                sock.settimeout(self.target.timeouts.read)
                with ctx.wrap_socket(sock, server_hostname=host) as tls:
                    info.verified = verify
                    info.protocol = tls.version()
                    der = tls.getpeercert(binary_form=True)
        except ssl.SSLCertVerificationError as exc:
            info.verify_error = exc.verify_message or str(exc)
            if verify:  # look again without verifying, to say what the certificate is
                seen = self.tls_handshake(minimum, maximum, verify=False)
                seen.verified, seen.verify_error = False, info.verify_error
                return seen
            return info
        except (OSError, ssl.SSLError) as exc:
            info.error = str(exc) or type(exc).__name__
            return info
        if der:
            _describe_cert(info, der)
        return info

    def _openssl_line(self, addr: tuple[str, int], version: ssl.TLSVersion | None) -> str:
        flag = {ssl.TLSVersion.TLSv1: " -tls1", ssl.TLSVersion.TLSv1_1: " -tls1_1"}.get(version, "") if version else ""
        ca = f" -CAfile {self.target.ca_bundle}" if self.target.ca_bundle else ""
        return (f"openssl s_client -connect {addr[0]}:{addr[1]} -servername {self.target.domain}{flag}{ca} "
                f"-verify_hostname {self.target.domain} </dev/null")


def _describe_cert(info: TlsInfo, der: bytes) -> None:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    info.not_after = cert.not_valid_after_utc
    info.issuer = cert.issuer.rfc4514_string()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        info.subject_names = san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        info.subject_names = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]


_HTTP_VERSIONS = {pycurl.CURL_HTTP_VERSION_1_0: "1.0", pycurl.CURL_HTTP_VERSION_1_1: "1.1",
                  pycurl.CURL_HTTP_VERSION_2_0: "2"}
_TLS_ERRORS = {35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98}  # CURLE_SSL_*, CURLE_PEER_FAILED_VERIFICATION
_DNS_ERRORS = {5, 6}  # CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST


def _header_line(name: str, value: str) -> bytes:
    """A header as sent on the wire: Latin-1 as HTTP/1.1 defines it, UTF-8 for what Latin-1 cannot hold."""
    line = f"{name}: {value}"
    try:
        return line.encode("latin-1")
    except UnicodeEncodeError:
        return line.encode("utf-8")


def _last_redirect(code: int, ex: Exchange) -> bool:
    """A redirect loop followed to the bound: the last redirect is the answer to judge, as a browser shows."""
    return code == pycurl.E_TOO_MANY_REDIRECTS and ex.status is not None and 300 <= ex.status < 400


def _failure(code: int, message: str, curl: pycurl.Curl, got: _Response, total: float, timeouts: Any,
             url: str) -> tuple[str, str]:
    """A network failure in words, and the phase it happened in (dns, connect, tls, headers, body)."""
    detail = message.strip().rstrip(".") or f"curl error {code}"
    if code in _DNS_ERRORS:
        return f"DNS lookup failed: {detail}", "dns"
    if code in _TLS_ERRORS:
        return f"TLS handshake failed: {detail}", "tls"
    if curl.getinfo(pycurl.LOCAL_PORT) <= 0:  # no connection was up (-1), new or reused
        if code == pycurl.E_OPERATION_TIMEDOUT:
            return f"no connection within the connect bound of {min(timeouts.connect, total):g} s", "connect"
        errno = curl.getinfo(pycurl.OS_ERRNO)
        return f"could not connect: {os.strerror(errno) if errno else detail}", "connect"
    new_tls = url.startswith("https:") and curl.getinfo(pycurl.NUM_CONNECTS) > 0
    if new_tls and code == pycurl.E_OPERATION_TIMEDOUT and curl.getinfo(pycurl.APPCONNECT_TIME) == 0:
        return f"TLS handshake did not finish within {min(timeouts.connect, total):g} s", "tls"
    phase, part = ("body", "body") if got.headers_done else ("headers", "response headers")
    if code == pycurl.E_OPERATION_TIMEDOUT:
        if curl.getinfo(pycurl.TOTAL_TIME) >= total - 0.05:
            return (f"exceeded the total time bound of {total:g} s while reading the {part} (server too slow or "
                    "dripping)", phase)
        return f"the {part} stalled for more than the read bound of {timeouts.read:g} s", phase
    if got.headers_done:
        return f"the connection broke while reading the body: {detail}", "body"
    return f"the response headers did not arrive whole: {detail}", "headers"


@dataclass(slots=True)
class Stats:
    """What went on the wire: requests sent and connections opened."""

    requests: int = 0
    connections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def count_connection(self, n: int = 1) -> None:
        if n:
            with self._lock:
                self.connections += n


@dataclass(slots=True)
class Breaker:
    """After `threshold` consecutive network failures to one address, further requests fail fast.

    A dead or blackholed edge then costs a few connect timeouts, not one per request. `reset`
    (a new retry round) lets the address be tried again.
    """

    threshold: int
    _failures: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, address: tuple[str, int], ex: Exchange) -> None:
        with self._lock:
            if ex.complete:
                self._failures.pop(address, None)
            elif ex.error_phase in ("dns", "connect", "tls", "headers", "body"):
                self._failures.setdefault(address, []).append(ex.error or "")

    def tripped(self, address: tuple[str, int]) -> str | None:
        with self._lock:
            failures = self._failures.get(address, [])
            if len(failures) < self.threshold:
                return None
            return (f"not sent: {address[0]}:{address[1]} failed {len(failures)} times in a row "
                    f"(first: {failures[0]})")

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
