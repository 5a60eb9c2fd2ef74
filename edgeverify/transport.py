"""The transport interface the engine sends through, and a transport that replays scripted answers.

`client.EdgeClient` (libcurl) is the real one. `ReplayTransport` answers from a function or a table of
recorded answers, without sockets: the engine, the plugin and the reports are tested on it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from .exchange import Exchange, TlsInfo
from .target import Target


class Transport(Protocol):
    """What the engine needs of a transport."""

    cancelled: threading.Event
    stats: Any  # client.Stats: requests, connections
    breaker: Any  # client.Breaker: reset() at each retry round

    def url(self, path: str, scheme: str = "https") -> str: ...

    def request(self, method: str, path: str, **kwargs: Any) -> Exchange: ...

    def submit(self, method: str, path: str, *, scheme: str = "https", headers: dict[str, str] | None = None,
               data: bytes | None = None, follow_redirects: bool = False, priority: int = 0) -> Future[Exchange]: ...

    def tls_handshake(self, minimum: Any = None, maximum: Any = None, verify: bool | None = None) -> TlsInfo: ...

    def cancel_pending(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """A scripted response; `error` (with `phase`) for no response at all; `delay_s` before it arrives."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    reason: str = ""
    error: str | None = None
    phase: str | None = None
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Asked:
    """What the replay transport was asked: method, URL, scheme, path (with query) and request headers."""

    method: str
    url: str
    scheme: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


Script = Callable[[Asked], Answer]


def table(answers: Mapping[tuple[str, str], Answer], default: Answer | None = None) -> Script:
    """A script from recorded answers by (method, path); anything else gets `default` (a 404 when None)."""
    fallback = default or Answer(404, (("content-type", "text/plain"),), b"not recorded")

    def script(asked: Asked) -> Answer:
        return answers.get((asked.method, asked.path), fallback)

    return script


class _Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0


class _Breaker:
    def reset(self) -> None:
        """Nothing to reset: a script never trips."""


class ReplayTransport:
    """Answers every request from `script`, on threads, as the real transport would (no sockets)."""

    def __init__(self, target: Target, script: Script, *, tls: TlsInfo | None = None) -> None:
        self.target = target
        self.script = script
        self.tls = tls or TlsInfo(host=target.domain, verified=True, protocol="TLSv1.3",
                                  subject_names=[target.domain], issuer="replay")
        self.cancelled = threading.Event()
        self.stats = _Stats()
        self.breaker = _Breaker()
        self.asked: list[Asked] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="edgeverify-replay")

    def url(self, path: str, scheme: str = "https") -> str:
        return path if _ABSOLUTE.match(path) else self.target.url(path, scheme)  # "://" in a query is a path's

    def request(self, method: str, path: str, **kwargs: Any) -> Exchange:
        return self.submit(method, path, **kwargs).result()

    def submit(self, method: str, path: str, *, scheme: str = "https", headers: dict[str, str] | None = None,
               data: bytes | None = None, follow_redirects: bool = False, priority: int = 0,
               **ignored: Any) -> Future[Exchange]:
        asked = Asked(method.upper(), self.url(path, scheme), scheme, path, dict(headers or {}), data)
        with self._lock:
            self.asked.append(asked)
            self.stats.requests += 1
        return self._pool.submit(self._answer, asked)

    def _answer(self, asked: Asked) -> Exchange:
        answer = self.script(asked)
        if answer.delay_s:
            self.cancelled.wait(answer.delay_s)
        ex = Exchange(asked.method, asked.url, list(asked.headers.items()), asked.body, started_at=time.time())
        if self.cancelled.is_set():
            ex.error, ex.error_phase = "not sent: the run was stopped", "deadline"
        elif answer.error is not None:
            ex.error, ex.error_phase = answer.error, answer.phase or "connect"
        else:
            ex.status, ex.reason, ex.headers = answer.status, answer.reason, list(answer.headers)
            ex.body, ex.body_size, ex.http_version = answer.body, len(answer.body), "2"
        return ex

    def tls_handshake(self, minimum: Any = None, maximum: Any = None, verify: bool | None = None) -> TlsInfo:
        return self.tls

    def cancel_pending(self) -> None:
        self.cancelled.set()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")  # a URL, not a path (/api/x?next=https://... is a path)

