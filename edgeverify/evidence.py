"""The evidence seam: each attempt of a check owns its evidence; the run sends each distinct request once.

`Run` (one per target and run) holds the transport, the answers shared by the checks of the
current round, and the answers of unsafe requests (a POST not marked repeat_safe), which go out at
most once per run, across checks and rounds. `Attempt` (one per check and try)
is what a check calls: it hands out the run's answers, records which exchanges the check judged,
and refuses to let a check judge an answer that did not arrive whole.
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .client import SAFE_METHODS, Verbs
from .errors import CouldNotJudge
from .exchange import Exchange, TlsInfo
from .target import Target
from .transport import Transport

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Request:
    """One request a check needs, hashable so that identical needs are sent once."""

    method: str
    path: str
    scheme: str = "https"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    follow_redirects: bool = False
    repeat_safe: bool = False  # an unsafe method the target says may be sent again

    @classmethod
    def make(cls, method: str, path: str, *, scheme: str = "https", headers: dict[str, str] | None = None,
             json: Any = None, data: bytes | str | None = None, follow_redirects: bool = False,
             repeat_safe: bool | None = None) -> Request:
        hdrs = dict(headers or {})
        body = data.encode() if isinstance(data, str) else data
        if json is not None:
            body = jsonlib.dumps(json, allow_nan=False).encode()
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
        method = method.upper()
        safe = method in SAFE_METHODS if repeat_safe is None else repeat_safe
        return cls(method, path, scheme, tuple(sorted(hdrs.items())), body, follow_redirects, safe)

    @property
    def unsafe(self) -> bool:
        """A state-changing request that must reach the edge at most once per run."""
        return self.method not in SAFE_METHODS and not self.repeat_safe


class Run:
    """The requests of one process's checks: shared answers per round, unsafe ones once per run."""

    def __init__(self, target: Target, transport: Transport) -> None:
        self.target = target
        self.transport = transport
        self._lock = threading.Lock()
        self._shared: dict[Request, Future[Exchange]] = {}
        self._tls: dict[tuple[Any, ...], Future[TlsInfo]] = {}
        self._unsafe: dict[Request, Future[Exchange]] = {}
        self.distinct = 0  # distinct requests asked for, fresh repeats included
        self._once: dict[str, Any] = {}
        self.started = time.monotonic()  # the run's start: convergence times count from here
        self.deadlines = (float("inf"), float("inf"))  # (propagation, run) as time.monotonic(); set by the engine

    def once(self, key: str, make: Callable[[], T]) -> T:
        """A value made once per run and shared by its checks (the target's AWS side, say)."""
        with self._lock:
            if key not in self._once:
                self._once[key] = make()
            return self._once[key]

    def forget(self) -> None:
        """Let go of every answer (the run's result is formed)."""
        with self._lock:
            self._shared, self._tls, self._unsafe = {}, {}, {}

    def new_round(self) -> None:
        """A retry round: the edge may have changed, so shared answers are fetched again."""
        with self._lock:
            self._shared = {}
            self._tls = {}
        self.transport.breaker.reset()

    def seed(self, request: Request, ex: Exchange) -> None:
        """Share an answer obtained elsewhere (the release gate's, or the controller's snapshot)."""
        done: Future[Exchange] = Future()
        done.set_result(ex)
        with self._lock:
            self._shared[request] = done

    def submit(self, request: Request, fresh: bool = False, step: int = 1) -> Future[Exchange]:
        """The answer to `request` (shared in the round unless `fresh`); `step`: which of its check's rounds of
        requests this is. A check's later rounds (a revalidation after its GET) start before other checks'
        first ones, so chains of dependent requests end early instead of queueing behind every check's start."""
        with self._lock:
            if request.unsafe:
                future = self._unsafe.get(request)
                if future is None:
                    future = self._unsafe[request] = self._send(request)
                    self.distinct += 1
                return future
            if fresh:
                self.distinct += 1
                return self._send(request, -step)
            future = self._shared.get(request)
            if future is None:
                future = self._shared[request] = self._send(request, -step)
                self.distinct += 1
            return future

    def tls(self, minimum: Any, maximum: Any, verify: bool | None) -> TlsInfo:
        """A TLS handshake's findings, shared in the round (the first check to ask performs it)."""
        key = (minimum, maximum, verify)
        with self._lock:
            future = self._tls.get(key)
            mine = future is None
            if future is None:
                future = self._tls[key] = Future()
        if mine:
            _settle(future, self.transport.tls_handshake, minimum, maximum, verify)
        return future.result()

    def _send(self, request: Request, priority: int = 0) -> Future[Exchange]:
        return self.transport.submit(request.method, request.path, scheme=request.scheme,
                                     headers=dict(request.headers), data=request.body,
                                     follow_redirects=request.follow_redirects, priority=priority)

    def close(self) -> None:
        self.transport.cancel_pending()
        self.transport.close()


def _settle(future: Future[Any], fn: Any, *args: Any) -> None:
    """Run fn(*args) into `future`."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(fn(*args))
    except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
        future.set_exception(exc)


@dataclass(slots=True)
class Attempt(Verbs):
    """One try of one check: the exchanges it judged, and whether it sent an unsafe request."""

    run: Run
    exchanges: list[Exchange] = field(default_factory=list)
    sent_unsafe: bool = False
    steps: int = 0  # rounds of requests sent so far (each waits for the answers of the one before)
    data: dict[str, Any] = field(default_factory=dict)  # blocks the check attaches for the reports (edges)

    @property
    def target(self) -> Target:
        return self.run.target

    def send_all(self, requests: Sequence[Request], *, fresh: bool = False, whole: bool = False) -> list[Exchange]:
        """Send (or share) every request concurrently; the answers in order.

        Raises CouldNotJudge when an answer did not arrive whole (no response, a broken body), or,
        with `whole`, when its body was cut at max_body_bytes.
        """
        self.steps += 1
        futures = [self.run.submit(r, fresh, self.steps) for r in requests]
        answers = [f.result() for f in futures]
        seen = {id(e) for e in self.exchanges}
        self.exchanges.extend(e for e in answers if id(e) not in seen)
        if any(r.unsafe for r in requests):
            self.sent_unsafe = True
        for ex in answers:
            if not ex.complete and ex.error_phase in ("decode", "short"):  # the edge's answer: a fault to name
                from .rules.static import body_fault

                raise body_fault(ex)
            if not ex.complete:
                raise CouldNotJudge(f"no whole answer to judge: {ex.method} {ex.path} -> {ex.status_line}"
                                    + (f" ({ex.error})" if ex.status is not None and ex.error else ""), ex)
            if whole and ex.body_truncated:
                raise CouldNotJudge(f"the body of {ex.method} {ex.path} was cut at max_body_bytes "
                                    f"({self.target.max_body_bytes} bytes): raise max_body_bytes to judge it", ex)
        return answers

    def request(self, method: str, path: str, *, fresh: bool = False, whole: bool = False, **kwargs: Any) -> Exchange:
        return self.send_all([Request.make(method, path, **kwargs)], fresh=fresh, whole=whole)[0]

    def fetch(self, path: str, *, whole: bool = False) -> Exchange:
        """A plain GET whose answer the checks of this round share."""
        return self.get(path, whole=whole)

    def fetch_all(self, paths: Sequence[str], *, method: str = "GET", headers: dict[str, str] | None = None,
                  fresh: bool = False) -> list[Exchange]:
        return self.send_all([Request.make(method, p, headers=headers) for p in paths], fresh=fresh)

    def revalidate(self, fulls: Sequence[Exchange]) -> list[Exchange | None]:
        """The conditional GET each 200 answer's validator allows (shared, so sent once per round), in order;
        None for an answer without a validator."""
        asked = [(i, Request.make("GET", ex.path, headers=headers))
                 for i, ex in enumerate(fulls) if (headers := ex.revalidation_headers())]
        answers = dict(zip([i for i, _ in asked], self.send_all([r for _, r in asked])))
        return [answers.get(i) for i in range(len(fulls))]

    def tls_handshake(self, minimum: Any = None, maximum: Any = None, verify: bool | None = None) -> TlsInfo:
        return self.run.tls(minimum, maximum, verify)
