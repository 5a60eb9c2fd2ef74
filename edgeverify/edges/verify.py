"""Per-edge verification: the release gate and a core subset of checks against each discovered edge, in parallel.

Each edge gets its own transport: an EdgeClient on a copy of the target whose connect_to sends the domain's
:443 and :80 to that edge's address (SNI, Host and the certificate check stay the domain's). Per edge, the
entry document is polled for the release marker every `propagation.interval` until the deadline, then the
core checks run (retried with the run's backoff until they pass or the deadline passes): the entry document
and its marker, one referenced asset, every declared API call with a safe method (never an unsafe one), the
http -> https redirect, HSTS, a CORS preflight, and the cache rules for the entry document, the asset and the
API's answers. Rules are the pure
functions of edgeverify/rules; their verdicts per edge are what `edges.consistent` compares.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..client import SAFE_METHODS, EdgeClient
from ..discovery import referenced_assets
from ..exchange import Exchange
from ..probes import unique_path
from ..redact import redact, redact_deep
from ..engine import entry_path
from ..retry import until_deadline
from ..rules import Violation
from ..rules.api import check_call
from ..rules.cache import check_api_not_cached, check_html_revalidated, check_immutable_assets, fingerprinted
from ..rules.edges import EdgeResult, marker_served
from ..rules.cors import check_preflight
from ..rules.https import check_hsts, check_redirect_status, check_redirect_target
from ..rules.propagation import check_release_marker
from ..rules.security import check_csp_present, check_framing, check_nosniff
from ..rules.static import check_served
from ..target import Target, parse_connect_to
from .discovery import Discovery, EdgeAddress, discover


@dataclass(slots=True)
class EdgeRun:
    """One multi-edge verification: what discovery found and what each edge served."""

    mode: str
    discovery: Discovery
    results: list[EdgeResult]
    wall_s: float
    started_at: float = 0.0  # epoch seconds the convergence times count from (the run's start)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.results)


def edge_target(target: Target, address: str) -> Target:
    """A copy of the target whose domain:443 and :80 go to `address` (ports kept from the target's connect_to)."""
    mapping = dict(parse_connect_to(s) for s in target.connect_to)
    domain = target.domain.lower()
    https_port = mapping.get((domain, 443), ("", 443))[1]
    http_port = mapping.get((domain, 80), ("", 80))[1]
    host = f"[{address}]" if ":" in address else address
    copied = copy.deepcopy(target)
    copied.connect_to = [f"{target.domain}:443:{host}:{https_port}", f"{target.domain}:80:{host}:{http_port}"]
    return copied


def run_edges(target: Target, deadline: float, started: float | None = None,
              run_deadline: float | None = None) -> EdgeRun:
    """Discover the target's edges and verify them all.

    `deadline` ends the polling and retries (the propagation deadline), `run_deadline` any request at all
    (the run's own bound); `started` is when convergence times count from. All are time.monotonic() values.
    """
    started = time.monotonic() if started is None else started
    started_at = time.time() - (time.monotonic() - started)
    found = discover(target, deadline)
    return EdgeRun(target.edges.mode, found, verify_edges(target, found.edges, deadline, started, run_deadline),
                   time.monotonic() - started, started_at)


def verify_edges(target: Target, edges: list[EdgeAddress], deadline: float, started: float,
                 run_deadline: float | None = None) -> list[EdgeResult]:
    """Verify every edge, at most `edges.concurrency` at once; results in the order given."""
    if not edges:
        return []
    with ThreadPoolExecutor(max_workers=min(target.edges.concurrency, len(edges))) as pool:
        return list(pool.map(lambda e: verify_edge(target, e, deadline, started, run_deadline), edges))


class _Transport:
    """An edge's client that also notes every X-Amz-Cf-Pop and counts requests."""

    def __init__(self, target: Target, result: EdgeResult, run_deadline: float | None) -> None:
        self.client = EdgeClient(target, deadline=run_deadline)
        self.result = result
        self.attempt: list[Exchange] = []
        self._lock = threading.Lock()

    def send(self, method: str, path: str, **kwargs: Any) -> Exchange:
        if method.upper() not in SAFE_METHODS:
            raise ValueError(f"per-edge verification never sends {method} (only {', '.join(sorted(SAFE_METHODS))})")
        ex = self.client.request(method, path, **kwargs)
        with self._lock:
            self.result.requests += 1
            pop = ex.header("x-amz-cf-pop")
            if pop and pop not in self.result.pops:
                self.result.pops.append(pop)
            self.attempt.append(ex)
        return ex


def verify_edge(target: Target, edge: EdgeAddress, deadline: float, started: float,
                run_deadline: float | None = None) -> EdgeResult:
    """The release gate (polled every `interval`) then the core checks (retried with the run's backoff) until `deadline`."""
    result = EdgeResult(edge.address, list(edge.regions))
    transport = _Transport(edge_target(target, edge.address), result, run_deadline)
    marker = target.propagation.release_marker
    entry = entry_path(target)
    reuse: list[Exchange] = []  # the gate's passing answer is the first core attempt's entry document
    gate_tries = 0
    try:
        if marker:
            def poll() -> bool:
                ex = transport.send("GET", entry)
                try:
                    check_release_marker(ex, marker)
                except Violation:
                    return False
                reuse.append(ex)
                return True
            served, gate_tries = until_deadline(poll, target.propagation, deadline, again=lambda ok: not ok, fixed=True)
            gate_tries -= int(served)  # that answer is judged by the first core attempt, counted there

        def attempt() -> bool:
            transport.attempt = reuse[:]
            violations = _core_checks(target, transport, result, reuse.pop() if reuse else None)
            result.exchanges = list(transport.attempt)
            if not violations:
                result.converged_after_s = round(time.monotonic() - started, 3)
            return not violations
        _, tries = until_deadline(attempt, target.propagation, deadline, again=lambda ok: not ok)
        result.attempts = gate_tries + tries
    finally:
        transport.client.close()
    return result


def _core_checks(target: Target, transport: _Transport, result: EdgeResult, entry_ex: Exchange | None) -> list[Violation]:
    """One attempt of the core checks; fills the result's facts and returns the violations found."""
    marker = target.propagation.release_marker
    entry = entry_path(target)
    verdicts: dict[str, str] = {}
    violations: list[Violation] = []
    result.violations = {}

    def judge(name: str, check: Callable[[], None]) -> None:
        try:
            check()
            verdicts[name] = "passed"
        except Violation as exc:
            verdicts[name] = f"failed: {exc.actual.splitlines()[0]}"
            result.violations[name] = exc
            violations.append(exc)

    entry_ex = entry_ex or transport.send("GET", entry)
    result.entry_exchange = entry_ex
    result.entry_status = entry_ex.status_line
    whole = entry_ex.complete and entry_ex.status == 200
    result.error = None if entry_ex.complete else (entry_ex.error or "no answer")
    result.entry = hashlib.sha256(entry_ex.body).hexdigest()[:12] if whole else None
    result.release = marker_served(entry_ex.text, marker) if whole else None
    if marker:
        judge("propagation.release", lambda: check_release_marker(entry_ex, marker))
    asset = _one_asset(target, entry_ex)
    asset_ex = transport.send("GET", asset) if asset else None
    served = [entry_ex] + ([asset_ex] if asset_ex else [])
    judge("static.served", lambda: check_served(served, "entry document and asset"))
    judge("cache.html_revalidated", lambda: check_html_revalidated(entry_ex, target.cache.html_max_max_age))
    # configuration propagates per edge too (a response headers policy, a behavior's CORS): judged at every edge
    judge("https.hsts", lambda: check_hsts(entry_ex, target.https.hsts_min_max_age))
    judge("security.csp_present", lambda: check_csp_present([entry_ex]))
    judge("security.framing", lambda: check_framing([entry_ex]))
    judge("security.nosniff", lambda: check_nosniff([("document", entry_ex)]
                                                    + ([("asset", asset_ex)] if asset_ex is not None else [])))
    cors = target.cors
    if cors is not None and cors.allowed_origins and cors.paths and cors.methods:
        origin, method = cors.allowed_origins[0], cors.methods[0]
        asked = {"Origin": origin, "Access-Control-Request-Method": method}
        if cors.request_headers:
            asked["Access-Control-Request-Headers"] = ", ".join(cors.request_headers)
        preflight = transport.send("OPTIONS", cors.paths[0], headers=asked)
        judge("cors.preflight", lambda: check_preflight([(origin, method, preflight)], cors.request_headers,
                                                        cors.credentials))
    if asset_ex is not None and asset and fingerprinted(asset, target.cache.fingerprint_pattern):
        judge("cache.immutable_assets", lambda: check_immutable_assets([asset_ex], target.cache.immutable_min_max_age))
    api: list[Exchange] = []
    for call in target.api.calls:
        if call.method not in SAFE_METHODS:
            continue  # a state-changing call is never sent to every edge
        ex = transport.send(call.method, call.path, headers=call.headers or None)
        api.append(ex)
        judge(f"api.call[{call.label}]", functools.partial(
            check_call, ex, call.label, call.expect.status, call.expect.content_type, call.expect.json))
    if api:  # the /api/* behavior's cache policy propagates per edge like any other setting
        judge("cache.api_not_cached", lambda: check_api_not_cached(api))
    probe = unique_path()
    redirect = transport.send("GET", probe, scheme="http")
    judge("https.redirect_status", lambda: check_redirect_status(redirect, target.https.redirect_statuses))
    judge("https.redirect_target", lambda: check_redirect_target(redirect, target.url(probe)))
    result.verdicts = verdicts
    return violations


def _one_asset(target: Target, entry_ex: Exchange) -> str | None:
    """The first asset the entry document references, preferring a fingerprinted one; else a declared asset."""
    found: list[str] = []
    if entry_ex.status == 200 and entry_ex.content_type == "text/html":
        found = referenced_assets(entry_ex.text, target.domain, entry_path(target))
    found += target.static.assets
    hashed = [a for a in found if fingerprinted(a, target.cache.fingerprint_pattern)]
    chosen = hashed or found
    return chosen[0] if chosen else None


def edges_block(run: EdgeRun) -> dict[str, Any]:
    """The report's `edges` block (REPORT-FORMAT.md), plus what discovery could not resolve and the cost.

    Secrets (values from ${VAR}, such as a release marker) are shown as their placeholders.
    """
    block: dict[str, Any] = {
        "mode": run.mode,
        "started_at": round(run.started_at, 3),
        "edges": [{"address": r.address, "pop": r.pop, "region": ", ".join(r.regions) or None,
                   "release": r.release, "converged_after_s": r.converged_after_s, "status": r.status,
                   "detail": r.served(), "pops": r.pops, "attempts": r.attempts, "requests": r.requests}
                  for r in run.results],
        "unresolved": [{"region": p.region, "prefix": p.prefix, "error": p.error} for p in run.discovery.problems],
        "dropped": run.discovery.dropped,
        "dns_queries": run.discovery.queries,
        "requests": run.requests,
        "wall_s": round(run.wall_s, 3),
    }
    redacted = redact_deep(block)
    assert isinstance(redacted, dict)
    return redacted


def timeline(run: EdgeRun) -> list[str]:
    """One line per edge: where it is, what it served, when it converged (secrets as placeholders)."""
    lines = []
    for r in run.results:
        when = f"converged after {r.converged_after_s:.1f} s" if r.converged_after_s is not None else "did not converge"
        lines.append(f"{r.label()}: {r.status}, {when}, {r.attempts} attempts, {r.requests} requests; {r.served()}")
    for p in run.discovery.problems:
        lines.append(f"region {p.region or '-'} ({p.prefix or 'resolver'}): no edge: {p.error}")
    if run.discovery.dropped:
        lines.append(f"{len(run.discovery.dropped)} more edges not verified (edges.max_edges): "
                     + ", ".join(run.discovery.dropped))
    return [redact(line) for line in lines]
