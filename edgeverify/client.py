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

import datetime as dt
import hashlib
import heapq
import http
import itertools
import json as jsonlib
import os
import re
import select
import socket
import ssl
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import certifi
import pycurl

from .exchange import Exchange, TlsInfo, media_type
from .target import Target, parse_connect_to

try:
    import brotli  # a dependency of httplint
except ImportError:  # pragma: no cover - br is then not asked for
    brotli = None

USER_AGENT = "edgeverify/0.1 (+post-deploy verification)"
ACCEPT_ENCODING = "gzip, br" if brotli is not None else "gzip"  # what browsers ask for (decoded by _Decoder)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_CONNECTIONS = 16  # per edge address, like a browser's HTTP/1.1 pool times a few
H2_STREAMS = 64  # transfers in flight per edge address over HTTP/2
BREAKER_THRESHOLD = 3  # consecutive network failures after which an address is not tried again this round
_WEB = pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS
# Set (to anything but "" or "0") in the project's own tests: a connection to an address outside 127.0.0.0/8 and ::1
# is refused before it is made, so a test whose target names a real host it forgot to map (--connect-to) cannot
# reach the internet on a networked CI machine; it fails, saying so.
LOOPBACK_ONLY = "EDGEVERIFY_LOOPBACK_ONLY"
KEEP_CONNECTIONS = 256  # idle connections the transfer loop keeps open for reuse (every edge address, both schemes)


def _loopback_socket(purpose: int, address: Any) -> Any:
    """libcurl's socket(2) (CURLOPT_OPENSOCKETFUNCTION) under EDGEVERIFY_LOOPBACK_ONLY: loopback addresses only."""
    import ipaddress

    ip = str(address.addr[0])
    if not ipaddress.ip_address(ip.split("%")[0]).is_loopback:
        print(f"edgeverify: {LOOPBACK_ONLY} refused a connection to {ip} (not a loopback address)", file=sys.stderr)
        return pycurl.SOCKET_BAD
    return socket.socket(address.family, address.socktype, address.protocol)


class _Response:
    """What arrives for one request, gathered by libcurl's header and body callbacks.

    The body arrives as sent (libcurl does not decode it) and is content-decoded here, a bounded piece at a
    time (`_Decoder`), so a gzip bomb never grows past what is taken of it. Its first `BODY_PREFIX` bytes are
    kept freely; bytes past them are drawn from the process's `_BodyPool`, and when the pool has no room the
    decoded bytes wait in `stash` and libcurl holds the transfer (paused) until it has. A body past the size
    bound is cut: the transfer stops and only its first `BODY_PREFIX` bytes stay, since no rule can judge a cut
    body whole; a 2xx asset body is counted, not kept (`keeps_body`).
    """

    __slots__ = ("chunks", "decoder", "error", "header_bytes", "headers", "headers_done", "keep", "last_at", "limit",
                 "pool", "prefix", "reason", "size", "stash", "status", "truncated")

    def __init__(self, limit: int, keep: bool | None, pool: _BodyPool | None = None) -> None:
        self.status: int | None = None
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self.headers_done = False
        self.header_bytes = 0  # in whole lines (libcurl hands headers over a line at a time)
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.prefix = min(BODY_PREFIX, limit)  # kept even when the body is cut, and buffered without the pool
        self.truncated = False
        self.keep = keep  # None: decided by the first body bytes' response (keeps_body)
        self.last_at = 0.0  # time.monotonic() of the last bytes received (0: none yet)
        self.decoder: _Decoder | None = None
        self.stash: Iterator[bytes] | None = None  # decoded bytes waiting for room in the pool
        self.pool = pool if pool is not None else _BodyPool()
        self.error: str | None = None  # why the body could not be decoded

    def on_header(self, line: bytes) -> None:
        self.last_at = time.monotonic()
        self.header_bytes += len(line)
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
        """Body bytes as sent: decoded and taken; 0 (libcurl stops with a write error) past the size bound or
        when they cannot be decoded; WRITEFUNC_PAUSE (libcurl keeps them) while decoded bytes wait for room."""
        if self.truncated or self.error is not None:
            return 0
        if self.stash is not None:
            return pycurl.WRITEFUNC_PAUSE
        self.last_at = time.monotonic()
        if self.keep is None:  # the first body bytes: the headers are whole
            self.keep = keeps_body(self.status, self.headers)
            try:
                self.decoder = _Decoder.of(self.headers)
            except _DecodeError as exc:
                self.error = str(exc)
                return 0
        return self._drain(self.decoder.feed(data) if self.decoder is not None else iter((data,)))

    def _drain(self, pieces: Iterator[bytes], force: bool = False) -> int | None:
        """Take decoded pieces until they end (None), the body is cut or undecodable (0), or the pool has no
        room (None, the rest stashed); `force`: the transfer has ended, so its last bytes are taken regardless."""
        try:
            for piece in pieces:
                if not self._take(piece, force):
                    self.stash = itertools.chain((piece,), pieces)
                    return None
                if self.truncated:
                    return 0
        except _DecodeError as exc:
            self.error = str(exc)
            self.pool.release(self)
            return 0
        return None

    def _take(self, piece: bytes, force: bool) -> bool:
        """One decoded piece counted, and kept when the body is; False: kept bytes past the prefix and no room
        for them in the pool (nothing taken)."""
        if self.size + len(piece) > self.limit:  # cut at the size bound: the transfer stops, the prefix stays
            if self.keep:
                self.chunks.append(piece[: self.limit - self.size])
                self._cut_to_prefix()
            self.pool.release(self)
            self.size, self.truncated = self.limit, True
            return True
        if self.keep:
            past = self.size + len(piece) - max(self.size, self.prefix)  # this piece's bytes past the prefix
            if past > 0 and not force and not self.pool.take(self, past):
                return False
            self.chunks.append(piece)
        self.size += len(piece)
        return True

    def _cut_to_prefix(self) -> None:
        kept, total = [], 0
        for chunk in self.chunks:
            if total >= self.prefix:
                break
            kept.append(chunk)
            total += len(chunk)
        self.chunks = [b"".join(kept)[: self.prefix]]

    def end(self) -> None:
        """The transfer ended whole: a coded body whose stream did not reach its end is not whole either (cut
        short, or not in the coding its Content-Encoding names) and is an error, as a corrupt one is."""
        if self.decoder is not None and self.error is None and not self.truncated:
            coding = self.decoder.unfinished()
            if coding is not None:
                self.error = f"the {coding} stream stops before its end (cut short, or not {coding} at all)"

    def resume(self, force: bool = False) -> int | None:
        """Take the stashed decoded bytes (the pool has room again, or with `force` the transfer ended)."""
        stash, self.stash = self.stash, None
        if stash is None:
            return None
        self.last_at = time.monotonic()  # waiting for room is not the edge's silence
        return self._drain(stash, force)

    def body(self) -> bytes:
        """The kept body: whole, or its first `prefix` bytes when it was cut."""
        body = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        self.chunks = []
        return body


# The first bytes of every body: kept even when the body is cut at max_body_bytes (for excerpts, diagnoses and
# titles), and buffered while it arrives without drawing on the pool.
BODY_PREFIX = 65_536
DECODE_STEP = 65_536  # bytes of decoded output produced at a time (a gzip bomb expands one piece at a time)


class _BodyPool:
    """The body bytes past each body's prefix that transfers in flight hold, bounded for the whole process.

    A transfer may take bytes while all holders' bytes stay within half its max_body_bytes; the oldest holder
    may always go on, to its own bound (so the pool never deadlocks). Bodies in flight thus hold at most about
    1.5 x max_body_bytes together, however many transfers run, instead of max_body_bytes each. Used by the
    transfer loop's thread only (callbacks run inside its perform).
    """

    __slots__ = ("freed", "holders", "used", "waiting")

    def __init__(self) -> None:
        self.used = 0
        self.holders: dict[_Response, int] = {}  # in the order they first took bytes
        self.waiting: dict[_Response, None] = {}  # refused, in order: retried when bytes are released
        self.freed = False  # bytes were released since the waiting transfers were last retried

    def take(self, got: _Response, n: int) -> bool:
        """Room for `n` more bytes of `got`'s body, taken; False (and `got` waits) when there is none."""
        if self.used + n > got.limit // 2 and next(iter(self.holders), None) is not got:
            self.waiting[got] = None
            return False
        self.used += n
        self.holders[got] = self.holders.get(got, 0) + n
        return True

    def release(self, got: _Response) -> None:
        """`got` holds nothing any more (its transfer ended, or its body was cut)."""
        self.waiting.pop(got, None)
        n = self.holders.pop(got, 0)
        if n:
            self.used -= n
            self.freed = True

    def clear(self) -> None:
        self.used, self.freed = 0, False
        self.holders.clear()
        self.waiting.clear()


class _DecodeError(Exception):
    """A body that cannot be content-decoded (an unknown coding, or corrupt data)."""


class _Decoder:
    """Content-decoding as libcurl does it (gzip, deflate, br; identity passes), each step's output bounded."""

    MAX_CODINGS = 5  # as libcurl: more stacked codings than this is refused

    def __init__(self, codings: list[str]) -> None:
        self.stages = [_Inflate(c) if c in ("gzip", "x-gzip", "deflate") else _Unbrotli() for c in reversed(codings)]

    @classmethod
    def of(cls, headers: list[tuple[str, str]]) -> _Decoder | None:
        """The decoder of a response's Content-Encoding, or None when its body is sent as is."""
        codings = [c.strip().lower() for k, v in headers if k.lower() == "content-encoding" for c in v.split(",")]
        codings = [c for c in codings if c and c not in ("identity", "none")]
        if not codings:
            return None
        if len(codings) > cls.MAX_CODINGS:
            raise _DecodeError(f"more than {cls.MAX_CODINGS} content codings ({', '.join(codings)})")
        unknown = [c for c in codings if c not in _CODINGS]
        if unknown:
            raise _DecodeError(f"unknown content coding '{unknown[0]}' (understood: {', '.join(_CODINGS)})")
        return cls(codings)

    def unfinished(self) -> str | None:
        """The coding of the outermost stage whose stream has not ended (None: every one ended)."""
        return next((stage.coding for stage in reversed(self.stages) if not stage.ended()), None)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of `data` (at most DECODE_STEP bytes each), produced as they are asked for."""
        pieces: Iterator[bytes] = iter((data,))
        for stage in self.stages:
            pieces = stage.feed_all(pieces)
        return pieces


class _Inflate:
    """gzip (or zlib) and deflate, raw deflate as a fallback for "deflate" (as libcurl)."""

    def __init__(self, coding: str) -> None:
        self.coding = "gzip" if coding == "x-gzip" else coding
        self.zlib = zlib.decompressobj(32 + zlib.MAX_WBITS if self.coding == "gzip" else zlib.MAX_WBITS)
        self.started = False
        self.done = False

    def feed_all(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for data in pieces:
            yield from self.feed(data)

    def ended(self) -> bool:
        return self.done

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self.done:  # bytes after the end of the stream are ignored
            try:
                out = self.zlib.decompress(data, DECODE_STEP)
            except zlib.error as exc:
                if self.coding == "deflate" and not self.started:  # some servers send deflate without its header
                    self.zlib, self.started = zlib.decompressobj(-zlib.MAX_WBITS), True
                    continue
                raise _DecodeError(f"the {self.coding} body is corrupt: {exc}") from None
            self.started = True
            self.done = self.zlib.eof
            data = self.zlib.unconsumed_tail
            if out:
                yield out
            if not data and len(out) == DECODE_STEP:  # the output was full: more may be pending for no more input
                data = b""
                while not self.done:
                    out = self.zlib.decompress(b"", DECODE_STEP)
                    self.done = self.zlib.eof
                    if out:
                        yield out
                    if len(out) < DECODE_STEP:
                        break


class _Unbrotli:
    """br (Brotli), with bounded output where the brotli module allows it (1.2 and later)."""

    coding = "br"

    def __init__(self) -> None:
        assert brotli is not None
        self.brotli = brotli.Decompressor()

    def feed_all(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for data in pieces:
            yield from self.feed(data)

    def ended(self) -> bool:
        return bool(self.brotli.is_finished())

    def feed(self, data: bytes) -> Iterator[bytes]:
        assert brotli is not None
        try:
            if self.brotli.is_finished():
                return
            if not _BROTLI_BOUNDED:
                yield self.brotli.process(data)
                return
            out = self.brotli.process(data, output_buffer_limit=DECODE_STEP)
            while True:
                if out:
                    yield out
                if self.brotli.is_finished():
                    return
                if len(out) < DECODE_STEP and self.brotli.can_accept_more_data():
                    return  # all the input so far decoded: more is needed
                out = self.brotli.process(b"", output_buffer_limit=DECODE_STEP)  # a full output: more is pending
        except brotli.error as exc:
            raise _DecodeError(f"the br body is corrupt: {exc}") from None


def _brotli_bounded() -> bool:
    if brotli is None:
        return False
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:
        return False
    return True


_BROTLI_BOUNDED = _brotli_bounded()
_CODINGS = ("gzip", "x-gzip", "deflate", *(("br",) if brotli is not None else ()))


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
    return not media_type(next((v for k, v in headers if k.lower() == "content-type"), None)).startswith(_ASSET_TYPES)


class _Transfer:
    """One request on its way: the exchange being recorded and what libcurl hands back for it."""

    __slots__ = ("address", "client", "ex", "follow_redirects", "got", "quiet_until", "sent", "total", "wire_at")

    def __init__(self, client: EdgeClient, ex: Exchange, sent: dict[str, str], follow_redirects: bool,
                 got: _Response) -> None:
        self.client, self.ex, self.sent, self.follow_redirects, self.got = client, ex, sent, follow_redirects, got
        self.address = client.address(ex.url)
        self.total = 0.0
        self.quiet_until = 0.0  # before any byte: the connect bound, then the read bound, from the start
        self.wire_at = 0.0  # the last time its connection had bytes to read (a header line may still be partial)

    @property
    def last_byte_at(self) -> float:
        """When the last byte arrived (0: none yet), counting bytes of a header line libcurl has not handed over."""
        return max(self.got.last_at, self.wire_at)

    def idle(self, now: float) -> bool:
        """Silent past the read bound (libcurl's own low-speed check counts whole seconds of body only)."""
        if self.got.stash is not None:  # held back by the body pool, not by the edge
            return False
        read, last = self.client.target.timeouts.read, self.last_byte_at
        return now > (last + read if last else self.quiet_until)


class _Loop:
    """One thread drives every transfer of the process through one libcurl multi handle.

    Connections are kept alive and shared by all requests to an address; over HTTP/2 many requests share
    one connection. Requests wait in a queue per edge address, lower priority values first, until fewer
    than the address's `in_flight` are running, so a transfer's time bounds start when it starts. While
    transfers run, the loop waits on their sockets, libcurl's own timer and a wake-up socket that each new
    request writes to; with nothing to do it sleeps.
    """

    IDLE_CHECK_S = 0.02  # how often running transfers are checked against the read bound

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: dict[tuple[str, int], list[tuple[int, int, _Transfer, Future[Exchange]]]] = {}
        self._running: dict[pycurl.Curl, tuple[_Transfer, Future[Exchange]]] = {}
        self._count: dict[tuple[str, int], int] = {}
        self._order = itertools.count()
        self._free: list[pycurl.Curl] = []
        self._multi: pycurl.CurlMulti | None = None
        self._host_connections = 0  # libcurl's bound on connections per host: the largest max_connections asked
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()  # a new request wakes a loop waiting on sockets
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.pool = _BodyPool()  # body bytes in flight, for every transfer of the process
        self._readable_at: dict[int, float] = {}  # socket -> when it last had bytes to read

    def submit(self, transfer: _Transfer, priority: int) -> Future[Exchange]:
        future: Future[Exchange] = Future()
        with self._cond:
            heapq.heappush(self._waiting.setdefault(transfer.address, []),
                           (priority, next(self._order), transfer, future))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="edgeverify-transfers", daemon=True)
                self._thread.start()
            self._cond.notify()
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full: the loop has wake-ups pending already
            pass
        return future

    def _run(self) -> None:
        while True:
            try:
                self._drive()
            except Exception as exc:  # noqa: BLE001 - a bug must not leave every waiting check hanging
                self._fail_running(exc)

    def _drive(self) -> None:
        if self._multi is None:
            self._multi = pycurl.CurlMulti()
            self._multi.setopt(pycurl.M_PIPELINING, pycurl.PIPE_MULTIPLEX)
            # libcurl keeps 4 idle connections per handle it has seen by default and closes the oldest beyond
            # that: a run over IPv4 and IPv6, HTTPS and plain HTTP then lost its first HTTPS connection while
            # the others opened, and paid a new TLS handshake (a far edge's round trips) for the next request.
            self._multi.setopt(pycurl.M_MAXCONNECTS, KEEP_CONNECTIONS)
        multi = self._multi
        idle_check = 0.0
        while True:
            with self._cond:
                starting = self._take()
                if not starting and not self._running:
                    self._cond.wait(5.0)
                    continue
            for transfer, future in starting:
                self._start(multi, transfer, future)
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            while True:
                queued, ok, failed = multi.info_read()
                for curl in ok:
                    self._done(multi, curl, 0, "")
                for curl, code, message in failed:
                    self._done(multi, curl, code, message)
                if not queued:
                    break
            if self.pool.freed:
                self._resume(multi)
            now = time.monotonic()
            if self._running and now >= idle_check:
                idle_check = now + self.IDLE_CHECK_S
                for curl in [c for c, (t, _) in self._running.items() if t.idle(now) and not self._had_bytes(curl, t)]:
                    self._done(multi, curl, pycurl.E_OPERATION_TIMEDOUT, "no bytes within the read bound")
            if self._running:
                self._wait(multi)

    def _had_bytes(self, curl: pycurl.Curl, transfer: _Transfer) -> bool:
        """Whether a transfer that looks idle had bytes on its connection since, in a header line not yet whole.

        libcurl hands headers over a line at a time, so an edge dripping a line byte by byte would look silent.
        The socket's readiness counts for the transfer alone on it (HTTP/1.1, or the only stream): on a shared
        HTTP/2 connection another stream's bytes say nothing about this one (its headers come in one frame)."""
        if transfer.got.headers_done:
            return False
        fd = curl.getinfo(pycurl.ACTIVESOCKET)
        at = self._readable_at.get(fd, 0.0)
        if fd < 0 or at <= transfer.wire_at:
            return False
        if sum(1 for c in self._running if c is not curl and c.getinfo(pycurl.ACTIVESOCKET) == fd):
            return False
        transfer.wire_at = at
        return not transfer.idle(time.monotonic())

    def _wait(self, multi: pycurl.CurlMulti) -> None:
        """Until a socket of a running transfer is ready, libcurl's timer is due, a request is added, or the
        next read-bound check."""
        poller = select.poll()
        reads, writes, errors = multi.fdset()
        for fd in set(reads) | set(writes) | set(errors):
            poller.register(fd, (select.POLLIN if fd in reads else 0) | (select.POLLOUT if fd in writes else 0)
                            | select.POLLPRI)
        poller.register(self._wake_r, select.POLLIN)
        due = multi.timeout()  # milliseconds; -1: no timer
        timeout = self.IDLE_CHECK_S * 1000 if due < 0 else min(due, self.IDLE_CHECK_S * 1000)
        ready = poller.poll(timeout)
        if ready:
            now = time.monotonic()
            if len(self._readable_at) > 4096:  # descriptors are reused: only recent readiness means anything
                self._readable_at.clear()
            for fd, events in ready:
                if events & select.POLLIN:
                    self._readable_at[fd] = now
        if any(fd == self._wake_r.fileno() for fd, _ in ready):
            try:
                while self._wake_r.recv(4096):
                    pass
            except OSError:  # drained
                pass

    def _resume(self, multi: pycurl.CurlMulti) -> None:
        """Transfers waiting for room in the body pool take their stashed bytes, oldest first, and go on."""
        self.pool.freed = False
        curls = {transfer.got: curl for curl, (transfer, _) in self._running.items()}
        for got in list(self.pool.waiting):
            del self.pool.waiting[got]
            curl = curls.get(got)
            if curl is None:
                continue
            if got.resume() is None and got.stash is not None:
                continue  # still no room: waits again
            try:
                curl.pause(pycurl.PAUSE_CONT)  # libcurl hands over what it held back (and may be cut there)
            except pycurl.error:  # the bytes it held back ended the body (cut at the size bound)
                self._done(multi, curl, pycurl.E_WRITE_ERROR, "")

    def _fail_running(self, exc: Exception) -> None:
        """The loop itself failed: every transfer in flight ends with the error, and the loop starts afresh."""
        running, self._running = self._running, {}
        multi, self._multi = self._multi, None
        self._host_connections = 0
        self.pool.clear()
        for curl, (transfer, future) in running.items():
            if not future.done():
                future.set_exception(exc)
            self._release(transfer, None)
            try:
                if multi is not None:
                    multi.remove_handle(curl)
            except pycurl.error:
                pass
        self._free.clear()

    def _take(self) -> list[tuple[_Transfer, Future[Exchange]]]:
        """Transfers that may start now (with the lock held), in priority order per address."""
        out = []
        for address, heap in self._waiting.items():
            while heap:
                transfer = heap[0][2]
                if not transfer.client.cancelled.is_set() and self._count.get(address, 0) >= transfer.client.in_flight:
                    break
                _, _, transfer, future = heapq.heappop(heap)
                if future.set_running_or_notify_cancel():
                    self._count[address] = self._count.get(address, 0) + 1
                    out.append((transfer, future))
        return out

    def _start(self, multi: pycurl.CurlMulti, transfer: _Transfer, future: Future[Exchange]) -> None:
        if transfer.client.connections > self._host_connections:  # HTTP/2 streams share these connections
            self._host_connections = transfer.client.connections
            multi.setopt(pycurl.M_MAX_HOST_CONNECTIONS, self._host_connections)
        curl = self._free.pop() if self._free else pycurl.Curl()
        transfer.got.pool = self.pool
        try:
            started = transfer.client._start(transfer, curl)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            self._release(transfer, curl)
            future.set_exception(exc)
            return
        if not started:  # refused before sending (deadline, interrupt, an edge that keeps failing)
            self._release(transfer, curl)
            future.set_result(transfer.ex)
            return
        self._running[curl] = (transfer, future)
        multi.add_handle(curl)

    def _done(self, multi: pycurl.CurlMulti, curl: pycurl.Curl, code: int, message: str) -> None:
        multi.remove_handle(curl)
        transfer, future = self._running.pop(curl)
        spoiled = _spoiled_reuse(transfer, curl, code, message)
        if spoiled is not None:
            self._again(multi, curl, transfer, future, spoiled)
            return
        try:
            future.set_result(transfer.client._finish(transfer, curl, code, message))
        except BaseException as exc:  # noqa: BLE001
            future.set_exception(exc)
        finally:
            self._release(transfer, curl)

    def _again(self, multi: pycurl.CurlMulti, curl: pycurl.Curl, transfer: _Transfer, future: Future[Exchange],
               why: str) -> None:
        """Send the transfer once more, on a new connection (its exchange's `retried` asks _prepare for one), as a
        browser does when a kept-alive connection fails before any answer: the failure was the connection's."""
        self.pool.release(transfer.got)
        self._free.append(curl)
        transfer.got = _Response(transfer.got.limit, transfer.got.keep)
        transfer.ex.retried = why
        self._start(multi, transfer, future)  # keeps its place at the address (counted once, released once)

    def _release(self, transfer: _Transfer, curl: pycurl.Curl | None) -> None:
        """The transfer's place at its address is free again (and its handle, when it can be reused)."""
        self.pool.release(transfer.got)
        if curl is not None:
            self._free.append(curl)
        with self._cond:
            self._count[transfer.address] = max(0, self._count.get(transfer.address, 0) - 1)


TRANSFERS = _Loop()


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
    """Sends requests to the target's domain; stateless apart from its counters.

    Safe to share between threads: every request goes through the process's transfer loop (TRANSFERS),
    which keeps at most `max_connections` connections per edge address and `in_flight` requests on them
    (one per connection over HTTP/1.1, up to 64 over HTTP/2), the rest waiting. Evidence (which exchanges
    a check judged, which unsafe request it sent) lives in the check's attempt (evidence.py), not here.
    """

    def __init__(self, target: Target, *, deadline: float | None = None) -> None:
        self.target = target
        self.connect_to = tuple(target.connect_to)
        self.mapping = dict(parse_connect_to(s) for s in self.connect_to)
        # curl's own form; an IPv6 address in brackets
        self._curl_connect_to = [f"{h}:{p}:{f'[{a}]' if ':' in a else a}:{ap}"
                                 for (h, p), (a, ap) in self.mapping.items()]
        self.deadline = deadline  # time.monotonic() after which nothing more is sent (the run's deadline)
        self.cancelled = threading.Event()  # set on interrupt: nothing more is sent
        self.stats = Stats()
        self.breaker = Breaker(threshold=BREAKER_THRESHOLD)
        self._bodies: dict[bytes, bytes] = {}  # large whole bodies by digest, kept once (used by the loop's thread)
        # No proxy or netrc from the environment (we test the edge itself), no cookie jar.
        self.headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING, **target.headers}
        self.verify: bool | str = False if target.insecure else (target.ca_bundle or True)
        self._ca = target.ca_bundle or certifi.where()
        self.http2 = target.http2
        connections = max(1, int(getattr(target, "max_connections", DEFAULT_CONNECTIONS)))
        # Transfers in flight per edge address: one per connection, or (HTTP/2) many streams on few connections.
        self.in_flight = max(connections, H2_STREAMS) if self.http2 else connections
        self.connections = connections

    def close(self) -> None:
        """Nothing to release: the connections belong to the process's transfer loop (TRANSFERS)."""

    def url(self, path: str, scheme: str = "https") -> str:
        return path if _ABSOLUTE.match(path) else self.target.url(path, scheme)  # "://" in a query is a path's

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
        return self.submit(method, path, scheme=scheme, headers=headers, json=json, data=data,
                           follow_redirects=follow_redirects, keep_body=keep_body).result()

    def submit(self, method: str, path: str, *, scheme: str = "https", headers: dict[str, str] | None = None,
               json: Any = None, data: bytes | str | None = None, follow_redirects: bool = False,
               keep_body: bool | None = None, priority: int = 0) -> Future[Exchange]:
        """`request`, answered later: the future's exchange. Lower `priority` values start first."""
        method = method.upper()
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
                      connect_to=self.connect_to, ca_bundle=self.target.ca_bundle, insecure=self.target.insecure,
                      http2_offered=self.http2)
        transfer = _Transfer(self, ex, sent, follow_redirects, _Response(self.target.max_body_bytes, keep_body))
        return TRANSFERS.submit(transfer, priority)

    def cancel_pending(self) -> None:
        """Nothing more is sent: requests still waiting for a connection end as not sent."""
        self.cancelled.set()

    def _start(self, transfer: _Transfer, curl: pycurl.Curl) -> bool:
        """Set `curl` up for the transfer; False when it is not sent at all (its exchange says why)."""
        ex = transfer.ex
        ex.started_at = time.time()
        total = self.target.timeouts.total
        if self.deadline is not None:
            total = min(total, self.deadline - time.monotonic())
        transfer.total = total
        refused = self._refusal(transfer.address, total)
        if refused is not None:
            ex.error, ex.error_phase = refused
            return False
        self.stats.count_request()
        transfer.quiet_until = time.monotonic() + min(self.target.timeouts.connect, total) + self.target.timeouts.read
        self._prepare(curl, ex.method, ex.url, transfer.sent, ex.request_body, transfer.follow_redirects, total,
                      transfer.got)
        if ex.retried:  # sent again: the kept-alive connection it first went out on was spoiled
            curl.setopt(pycurl.FRESH_CONNECT, 1)
        return True

    def _finish(self, transfer: _Transfer, curl: pycurl.Curl, code: int, message: str) -> Exchange:
        """The exchange of a transfer libcurl ended (code 0: whole)."""
        ex, got = transfer.ex, transfer.got
        ex.elapsed_s = curl.getinfo(pycurl.TOTAL_TIME)
        ex.ttfb_s = curl.getinfo(pycurl.STARTTRANSFER_TIME)
        # libcurl's phases, each from the start (0 for a phase a reused connection skipped): latency.py reads them
        ex.dns_s, ex.connect_s = curl.getinfo(pycurl.NAMELOOKUP_TIME), curl.getinfo(pycurl.CONNECT_TIME)
        ex.tls_s, ex.address = curl.getinfo(pycurl.APPCONNECT_TIME), curl.getinfo(pycurl.PRIMARY_IP) or None
        self.stats.count_connection(curl.getinfo(pycurl.NUM_CONNECTS))
        ex.http_version = _HTTP_VERSIONS.get(curl.getinfo(pycurl.INFO_HTTP_VERSION))
        if transfer.follow_redirects:
            ex.url = curl.getinfo(pycurl.EFFECTIVE_URL) or ex.url
        if code == 0:
            got.resume(force=True)  # decoded bytes still waiting for the pool when the transfer ended
            got.end()
            if got.error is not None:  # a coded stream that did not end: judged as an undecodable body
                code, message = _BAD_CONTENT_ENCODING, got.error
        got.stash = None
        if got.status is not None and (got.headers_done or code == 0):
            ex.status, ex.reason, ex.headers = got.status, got.reason or _phrase(got.status), got.headers
            ex.body, ex.body_size, ex.body_truncated = self._shared_body(got), got.size, got.truncated
            ex.body_kept = got.keep is not False
        if code and not (code == pycurl.E_WRITE_ERROR and got.truncated) and not _last_redirect(code, ex):
            ex.error, ex.error_phase = _failure(code, message, curl, got, transfer, self.target.timeouts, ex.url)
            if ex.error_phase not in BODY_PHASES:  # the headers themselves did not arrive whole: none is trusted
                ex.status, ex.reason, ex.headers, ex.body, ex.body_size = None, "", [], b"", 0
        self.breaker.record(transfer.address, ex)
        return ex

    def _shared_body(self, got: _Response) -> bytes:
        """The kept body; a large one that came before (a SPA's fallback page behind every route, an error page
        behind many paths, every answer of a broken edge) is that same bytes object, not another copy."""
        if got.truncated or got.size < BODY_PREFIX or not got.chunks:
            return got.body()
        digest = hashlib.blake2b(digest_size=20)
        for chunk in got.chunks:
            digest.update(chunk)
        key = digest.digest()
        body = self._bodies.get(key)
        if body is None:
            body = self._bodies[key] = got.body()
        got.chunks = []
        return body

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
        if self.http2:  # offered in the TLS handshake (ALPN); an edge that does not speak it answers in HTTP/1.1
            curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
            curl.setopt(pycurl.PIPEWAIT, 1)  # wait for a connection that multiplexes rather than open another
        else:
            curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        if self._curl_connect_to:
            curl.setopt(pycurl.CONNECT_TO, self._curl_connect_to)
        if os.environ.get(LOOPBACK_ONLY, "0") not in ("", "0"):
            curl.setopt(pycurl.OPENSOCKETFUNCTION, _loopback_socket)
        if self.target.insecure:
            curl.setopt(pycurl.SSL_VERIFYPEER, 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        else:
            curl.setopt(pycurl.CAINFO, self._ca)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(timeouts.connect, total) * 1000)))
        curl.setopt(pycurl.TIMEOUT_MS, max(1, int(total * 1000)))
        lines: list[bytes | str] = []
        for name, value in sent.items():  # Accept-Encoding as given: the answer is decoded by _Response
            if name.lower() != "content-length":
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
                    decoded = tls.getpeercert() if verify else None  # the ssl module decodes verified ones
        except ssl.SSLCertVerificationError as exc:
            info.verify_error = exc.verify_message or str(exc)
            if verify:  # look again without verifying, to say what the certificate is and the chain sent
                seen = self.tls_handshake(minimum, maximum, verify=False)
                seen.verified, seen.verify_error = False, info.verify_error
                seen.chain_sent = self._chain_sent(addr, host)
                return seen
            return info
        except (OSError, ssl.SSLError) as exc:
            info.error = str(exc) or type(exc).__name__
            return info
        if decoded:
            _describe_decoded(info, decoded)
        elif der:
            _describe_cert(info, der)
        return info

    def _chain_sent(self, addr: tuple[str, int], host: str) -> tuple[str, ...]:
        """The subjects of the certificates the edge sends, leaf first (libcurl's CERTINFO, unverified); () when
        the handshake fails again. Evidence for a chain that lacks its intermediate."""
        curl = pycurl.Curl()
        try:
            curl.setopt(pycurl.URL, f"https://{host}:{addr[1]}/")
            curl.setopt(pycurl.RESOLVE, [f"{host}:{addr[1]}:{addr[0]}"])
            curl.setopt(pycurl.SSL_VERIFYPEER, 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
            curl.setopt(pycurl.OPT_CERTINFO, 1)
            curl.setopt(pycurl.CONNECT_ONLY, 1)
            curl.setopt(pycurl.TIMEOUT_MS, int(max(self.target.timeouts.connect, 0.1) * 1000))
            curl.perform()
            certs = curl.getinfo(pycurl.INFO_CERTINFO) or []
        except pycurl.error:
            return ()
        finally:
            curl.close()
        return tuple(dict(fields).get("Subject", "") for fields in certs)

    def _openssl_line(self, addr: tuple[str, int], version: ssl.TLSVersion | None) -> str:
        flag = {ssl.TLSVersion.TLSv1: " -tls1", ssl.TLSVersion.TLSv1_1: " -tls1_1"}.get(version, "") if version else ""
        ca = f" -CAfile {self.target.ca_bundle}" if self.target.ca_bundle else ""
        return (f"openssl s_client -connect {addr[0]}:{addr[1]} -servername {self.target.domain}{flag}{ca} "
                f"-verify_hostname {self.target.domain} </dev/null")


def _describe_decoded(info: TlsInfo, cert: dict[str, Any]) -> None:
    """A verified certificate as the ssl module decoded it (no cryptography import on a good edge's run)."""
    info.not_after = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), dt.timezone.utc)
    info.issuer = ",".join("+".join(f"{_RDN_NAMES.get(k, k)}={v}" for k, v in rdn) for rdn in reversed(cert["issuer"]))
    names = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    info.subject_names = names or [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]


_RDN_NAMES = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
              "stateOrProvinceName": "ST", "localityName": "L", "domainComponent": "DC"}


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
# Failures that keep the headers: the body broke (body), did not decode as labelled (decode), or ended before
# the bytes its Content-Length promised (short); the last two are the edge's answer, not a network failure.
BODY_PHASES = ("body", "decode", "short")
# CURLE_WEIRD_SERVER_REPLY ("Invalid status line"), CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING: on a
# kept-alive connection, before a status line, these say the connection was spoiled (not this request's answer)
_SPOILED = (8, 55, 56, 52)
_RESENDABLE = ("GET", "HEAD", "OPTIONS")  # idempotent: sending again cannot repeat a side effect
_BAD_CONTENT_ENCODING = 61  # CURLE_BAD_CONTENT_ENCODING: a decoding failure, the connection was fine
_CUT_SHORT = (18, 56, 92)  # CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_HTTP2_STREAM
# CURLE_SSL_* and CURLE_PEER_FAILED_VERIFICATION
_TLS_ERRORS = {35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98}
_DNS_ERRORS = {5, 6}  # CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST


def _phrase(status: int) -> str:
    """HTTP/2 carries no reason phrase: show the standard one, so reports read alike over both protocols."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


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


def _failure(code: int, message: str, curl: pycurl.Curl, got: _Response, transfer: _Transfer, timeouts: Any,
             url: str) -> tuple[str, str]:
    """A network failure in words, and the phase it happened in (dns, connect, tls, headers, body)."""
    total = transfer.total
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
    if got.error is not None or code == _BAD_CONTENT_ENCODING:  # the edge's answer, not the network's
        coding = ", ".join(v for k, v in got.headers if k.lower() == "content-encoding") or "none"
        return (f"the body is labelled Content-Encoding: {coding} but does not decode as {coding} "
                f"({got.error or detail})"), "decode"
    promised, arrived = curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T), curl.getinfo(pycurl.SIZE_DOWNLOAD_T)
    if got.headers_done and code in _CUT_SHORT and 0 <= arrived < promised:
        return (f"the body ended after {arrived:.0f} of the {promised:.0f} bytes its Content-Length promised "
                f"({detail})"), "short"
    phase, part = ("body", "body") if got.headers_done else ("headers", "response headers")
    if code == pycurl.E_OPERATION_TIMEDOUT:
        if curl.getinfo(pycurl.TOTAL_TIME) >= total - 0.05:
            why = f"exceeded the total time bound of {total:g} s while reading the {part}"
            return f"{why} (server too slow or dripping)", phase
        seen = _seen(got, transfer, curl)
        return f"the {part} stalled: no byte for more than the read bound of {timeouts.read:g} s ({seen})", phase
    if got.headers_done:
        return f"the connection broke while reading the body: {detail}", "body"
    return f"the response headers did not arrive whole: {detail}", "headers"


def _spoiled_reuse(transfer: _Transfer, curl: pycurl.Curl, code: int, message: str) -> str | None:
    """Why the transfer should go again on a new connection (None: its failure, if any, is the edge's answer).

    A kept-alive HTTP/1.1 connection can hold bytes an earlier answer left behind (a body sent after a HEAD
    answer, more body than Content-Length) or be closed by the edge while idle; the next request on it then
    reads them as its status line, or nothing. libcurl sends again on its own only after nothing at all."""
    if code not in _SPOILED or transfer.ex.retried is not None or transfer.got.status is not None:
        return None
    if transfer.ex.method not in _RESENDABLE or curl.getinfo(pycurl.NUM_CONNECTS) != 0:
        return None  # not idempotent, or a new connection: what came is the edge's answer to this request
    detail = message.strip() or f"libcurl error {code}"
    return (f"the kept-alive connection it first went out on gave '{detail}' before any status line (bytes an "
            "earlier answer left on it, e.g. a body after a HEAD answer, or closed by the edge)")


def _seen(got: _Response, transfer: _Transfer, curl: pycurl.Curl) -> str:
    """What had arrived when a transfer was cut for silence: bytes received, and when the last one did."""
    if not transfer.last_byte_at:
        return "nothing received"
    took = curl.getinfo(pycurl.TOTAL_TIME)
    last = max(0.0, took - (time.monotonic() - transfer.last_byte_at))
    if got.headers_done:
        seen = f"{got.header_bytes} bytes of headers and {got.size} of body received"
    else:
        seen = f"{got.header_bytes} bytes of headers received in whole lines, the headers not yet ended"
    return f"{seen}; the last byte at {last:.1f} s of {took:.1f} s"


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


_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def requote_uri(uri: str) -> str:
    """The URL with whatever may not stand in one percent-encoded, escapes already there kept (as requests' of
    that name does; requests itself costs a start-up 30 ms to import for this one function)."""
    return quote(uri, safe="!#$&'()*+,/:;=?@[]~" + ("" if _BARE_PERCENT.search(uri) else "%"))


_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")  # a URL, not a path (/api/x?next=https://... is a path)

