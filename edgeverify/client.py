"""The edge client: the one place that talks to the network.

Every request goes through `EdgeClient.request`, which keeps connections alive, maps host:port
like `curl --connect-to` (TLS SNI and certificate still checked against the domain), never follows
redirects unless asked, bounds connect, read and total time and the body size, and records the
exchange for rules and reports.
"""

from __future__ import annotations

import heapq
import http.client
import json as jsonlib
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from requests.utils import requote_uri
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .exchange import Exchange, TlsInfo
from .target import Target, parse_connect_to

try:  # brotli lets us ask for (and decode) what browsers ask for
    import brotli  # noqa: F401

    ACCEPT_ENCODING = "gzip, br"
except ImportError:
    ACCEPT_ENCODING = "gzip"

USER_AGENT = "edgeverify/0.1 (+post-deploy verification)"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_CONNECTIONS = 16  # per edge address, like a browser's HTTP/1.1 pool times a few
BREAKER_THRESHOLD = 3  # consecutive network failures after which an address is not tried again this round
_CHUNK = 8 * 1024  # decoded per read: a gzip bomb's chunk stays small (zlib expands at most ~1000x)

# Connections opened by the request running on this thread, so its watchdog can cut them.
_local = threading.local()


def _pool_manager(mapping: dict[tuple[str, int], tuple[str, int]], size: int, stats: Stats,
                  **tls: Any) -> urllib3.PoolManager:
    """A urllib3 pool manager whose connections dial the mapped address but keep the URL's host for TLS and Host."""

    def new_conn(base: type[HTTPConnection]) -> Callable[[HTTPConnection], socket.socket]:
        def _new_conn(self: HTTPConnection) -> socket.socket:
            stats.count_connection()
            mapped = mapping.get((self.host.lower(), self.port))
            if mapped is None:
                return base._new_conn(self)
            saved = self._dns_host, self.port
            self._dns_host, self.port = mapped
            try:
                return base._new_conn(self)
            finally:
                self._dns_host, self.port = saved
        return _new_conn

    def request(base: type[HTTPConnection]) -> Callable[..., None]:
        def _request(self: HTTPConnection, *args: Any, **kwargs: Any) -> None:
            getattr(_local, "conns", []).append(self)
            base.request(self, *args, **kwargs)
        return _request

    http_conn = type("MappedHTTPConnection", (HTTPConnection,),
                     {"_new_conn": new_conn(HTTPConnection), "request": request(HTTPConnection)})
    https_conn = type("MappedHTTPSConnection", (HTTPSConnection,),
                      {"_new_conn": new_conn(HTTPSConnection), "request": request(HTTPSConnection)})
    http_pool = type("MappedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("MappedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
    manager = urllib3.PoolManager(num_pools=8, maxsize=size, block=True, retries=False, **tls)
    manager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}
    return manager


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
        self.deadline = deadline  # time.monotonic() after which nothing more is sent (the run's deadline)
        self.cancelled = threading.Event()  # set on interrupt: nothing more is sent
        self.stats = Stats()
        self.breaker = Breaker(threshold=BREAKER_THRESHOLD)
        # urllib3 directly: no proxies or netrc from the environment (we test the edge itself), no cookie jar,
        # and none of a higher-level client's per-request preparation, which cost more than the request.
        self.headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING, **target.headers}
        self.verify: bool | str = False if target.insecure else (target.ca_bundle or True)
        if target.insecure:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            tls: dict[str, Any] = {"cert_reqs": "CERT_NONE", "assert_hostname": False}
        else:
            tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": target.ca_bundle or certifi.where()}
        size = max(1, int(getattr(target, "max_connections", DEFAULT_CONNECTIONS)))
        self.pools = _pool_manager(self.mapping, size, self.stats, **tls)

    def close(self) -> None:
        self.pools.clear()

    def url(self, path: str, scheme: str = "https") -> str:
        return path if "://" in path else self.target.url(path, scheme)

    def address(self, url: str) -> tuple[str, int]:
        """The address a request to `url` dials (after --connect-to)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return self.mapping.get((host, port), (host, port))

    def request(self, method: str, path: str, *, scheme: str = "https", headers: dict[str, str] | None = None,
                json: Any = None, data: bytes | str | None = None, follow_redirects: bool = False) -> Exchange:
        """Send one request and return its recorded exchange; network failures are recorded, not raised."""
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
        address = self.address(ex.url)
        refused = self._refusal(address, total)
        if refused is not None:
            ex.error, ex.error_phase = refused
            return ex
        self.stats.count_request()
        _local.conns = []
        aborted = threading.Event()
        _local_conns = _local.conns

        cut_at: list[float] = []

        def cut() -> None:  # total-time bound: a dripping server cannot hold the check past it
            cut_at.append(time.monotonic())
            aborted.set()
            for conn in list(_local_conns):
                sock = getattr(conn, "sock", None)
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        start = time.monotonic()
        alarm = WATCHDOG.schedule(start + total, cut)
        response: urllib3.BaseHTTPResponse | None = None
        headers_at = float("inf")
        retries: urllib3.Retry | bool = (urllib3.Retry(total=10, connect=0, read=0, status=0, redirect=10,
                                                       raise_on_redirect=False) if follow_redirects else False)
        try:
            response = self.pools.urlopen(method, url, body=body, headers=sent, redirect=follow_redirects,
                                          retries=retries, preload_content=False, decode_content=True,
                                          timeout=urllib3.Timeout(connect=min(timeouts.connect, total),
                                                                  read=timeouts.read))
            headers_at = time.monotonic()
            ex.ttfb_s = headers_at - start
            ex.status, ex.reason = response.status, response.reason or ""
            ex.url = response.geturl() or ex.url if follow_redirects else ex.url
            ex.headers = list(response.headers.items())
            ex.tls_version = _tls_version(response)
            if method != "HEAD":
                ex.body, ex.body_truncated = _read_bounded(response, self.target.max_body_bytes)
        except (urllib3.exceptions.HTTPError, OSError, http.client.HTTPException) as exc:
            ex.error, ex.error_phase = _failure(exc, ex.status is not None, timeouts)
        finally:
            WATCHDOG.cancel(alarm)
            if response is not None:
                if ex.error is None and not ex.body_truncated:
                    response.release_conn()  # read to its end: the connection goes back to the pool
                else:
                    response.close()  # mid-body: the connection cannot be reused
                    response.release_conn()
            ex.elapsed_s = time.monotonic() - start
        if aborted.is_set():  # whatever arrived is incomplete
            in_body = bool(cut_at) and cut_at[0] >= headers_at
            if not in_body:  # the headers themselves were cut: nothing of them can be trusted
                ex.status, ex.reason, ex.headers, ex.body = None, "", [], b""
            ex.error_phase = "body" if in_body else "headers"
            ex.error = (f"exceeded the total time bound of {total:g} s while reading the "
                        f"{'body' if in_body else 'response headers'} (server too slow or dripping)")
        self.breaker.record(address, ex)
        return ex

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


def _read_bounded(response: urllib3.BaseHTTPResponse, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.stream(_CHUNK, decode_content=True):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _tls_version(response: urllib3.BaseHTTPResponse) -> str | None:
    try:
        return response.connection.sock.version()  # type: ignore[union-attr]
    except AttributeError:
        return None


def _as_bytes(body: Any) -> bytes | None:
    if body is None:
        return None
    return body.encode() if isinstance(body, str) else bytes(body)


def _reason(exc: BaseException) -> str:
    """The innermost, most specific message of a requests/urllib3 error chain."""
    text = str(exc)
    for marker in ("certificate verify failed", "Connection refused", "Name or service not known",
                   "Temporary failure in name resolution", "No address associated", "Network is unreachable",
                   "Connection reset", "Remote end closed", "wrong version number", "BadStatusLine",
                   "Response ended prematurely", "IncompleteRead", "Connection broken"):
        if marker in text:
            detail = text[text.index(marker):].split("'")[0].split(")")[0]
            return detail.rstrip(" .,(")
    return text[:300]


_DNS_MARKERS = ("Name or service not known", "Temporary failure in name resolution", "No address associated",
                "nodename nor servname", "getaddrinfo failed")


def _failure(exc: BaseException, got_headers: bool, timeouts: Any) -> tuple[str, str]:
    """A network failure in words, and the phase it happened in."""
    errors = urllib3.exceptions
    text = str(exc)
    if got_headers:
        return f"the connection broke while reading the body: {_reason(exc)}", "body"
    if isinstance(exc, errors.SSLError) or "handshake" in text.lower() or "certificate" in text.lower():
        return "TLS handshake failed: " + _reason(exc), "tls"
    if isinstance(exc, errors.NameResolutionError) or any(m in text for m in _DNS_MARKERS):
        return f"DNS lookup failed: {_reason(exc)}", "dns"
    if isinstance(exc, errors.NewConnectionError):
        return f"could not connect: {_reason(exc)}", "connect"
    if isinstance(exc, errors.ConnectTimeoutError):
        return f"no connection within the connect bound of {timeouts.connect:g} s", "connect"
    if isinstance(exc, errors.ReadTimeoutError):
        return f"no response headers within the read bound of {timeouts.read:g} s", "headers"
    return f"the response headers did not arrive whole: {_reason(exc)}", "headers"


class Watchdog:
    """One thread that calls each scheduled function at its time, unless cancelled first.

    Every request's total-time bound is an alarm here: a thread per request would cost more than
    the request itself. A cancelled alarm lets go of its function at once (it holds the request's
    connections), though its slot in the heap waits for its time.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._pending: dict[int, Callable[[], None]] = {}
        self._ids = iter(range(1, 1 << 62))
        self._thread: threading.Thread | None = None

    def schedule(self, when: float, fn: Callable[[], None]) -> int:
        with self._cond:
            handle = next(self._ids)
            heapq.heappush(self._heap, (when, handle))
            self._pending[handle] = fn
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="edgeverify-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][1] == handle:  # only an alarm earlier than all others changes the wait
                self._cond.notify()
            return handle

    def cancel(self, handle: int) -> None:
        with self._cond:
            self._pending.pop(handle, None)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._pending:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait(5.0)
                    continue
                when, handle = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                fn = self._pending.pop(handle)
            try:
                fn()
            except Exception:  # noqa: BLE001 - an alarm must never kill the watchdog
                pass


WATCHDOG = Watchdog()


@dataclass(slots=True)
class Stats:
    """What went on the wire: requests sent and connections opened."""

    requests: int = 0
    connections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1


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
