"""Latency per edge: libcurl's timings of every exchange (DNS, connect, TLS, TTFB, total), grouped by the edge that
answered (its address and CloudFront POP) and by kind of request (document, asset, api), as percentiles.

`latency_block` reads the recorded exchanges of a run (their report form, as the evidence table keeps them), so the
report's per-edge table is formed once, with the run's result, from what the checks received; `samples` is what the
latency rule judges. libcurl's times count from the transfer's start; a phase a reused connection skipped is 0, and a
percentile of a phase counts only the exchanges that went through it (the new connections).
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

KINDS = ("document", "asset", "api")
PHASES = ("dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "wait_ms", "total_ms")  # wait: TTFB after the connection was up


def kind_of(path: str, api_prefix: str) -> str:
    """document (pages and app routes), asset (a file with an extension), or api (under the API's prefix)."""
    path = path.split("?", 1)[0] or "/"
    if path.startswith(api_prefix.rstrip("/") + "/") or path == api_prefix.rstrip("/"):
        return "api"
    ext = posixpath.splitext(posixpath.basename(path))[1].lower()
    return "asset" if ext and ext not in (".html", ".htm") else "document"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..100) of `values`; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def phases(ex: Mapping[str, Any]) -> dict[str, float]:
    """An exchange record's timings in ms (a phase the exchange skipped, on a reused connection, is left out)."""
    timings = ex.get("timings") or {}
    found = {name: float(timings[name]) for name in ("dns_ms", "connect_ms", "tls_ms")
             if isinstance(timings.get(name), (int, float)) and timings[name] > 0}
    if isinstance(ex.get("ttfb_ms"), (int, float)) and ex["ttfb_ms"] > 0:
        found["ttfb_ms"] = float(ex["ttfb_ms"])
        # curl's time_starttransfer - time_appconnect: from the open connection to the first byte (one round trip
        # plus the edge's time), comparable across new and reused connections
        found["wait_ms"] = max(0.0, found["ttfb_ms"] - found.get("tls_ms", found.get("connect_ms", 0.0)))
    if isinstance(ex.get("elapsed_ms"), (int, float)) and ex["elapsed_ms"] > 0:
        found["total_ms"] = float(ex["elapsed_ms"])
    return found


def summary(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts and p50/p95 of each phase over exchange records."""
    rows = [phases(r) for r in records]
    out: dict[str, Any] = {"requests": len(rows)}
    for name in PHASES:
        values = [row[name] for row in rows if name in row]
        if values:
            out[f"{name[:-3]}_p50_ms"] = round(percentile(values, 50) or 0.0, 1)
            out[f"{name[:-3]}_p95_ms"] = round(percentile(values, 95) or 0.0, 1)
    return out


def hit_ratio(records: Sequence[Mapping[str, Any]]) -> float | None:
    """The share of the records CloudFront answered from its cache (X-Cache Hit or RefreshHit) among those that say
    (an X-Cache header); None when none says."""
    cached = [ex for ex in records if ex.get("x_cache")]
    hits = sum(1 for ex in cached if str(ex.get("x_cache")).lower().startswith(("hit", "refreshhit")))
    return round(hits / len(cached), 3) if cached else None


def _path(ex: Mapping[str, Any]) -> str:
    url = str((ex.get("request") or {}).get("url") or "")
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def latency_block(exchanges: Iterable[Mapping[str, Any]], api_prefix: str) -> dict[str, Any] | None:
    """The report's latency block: per edge (POP and address), the percentiles of each kind and the cache-hit
    ratio of documents and assets (together, and per kind); None when no exchange was answered."""
    edges: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for ex in exchanges:
        if ex.get("status") is None:
            continue
        edges.setdefault((str(ex.get("pop") or "-"), str(ex.get("address") or "-")), []).append(ex)
    if not edges:
        return None
    rows = []
    for (pop, address), records in sorted(edges.items()):
        by_kind: dict[str, list[Mapping[str, Any]]] = {}
        for ex in records:
            by_kind.setdefault(kind_of(_path(ex), api_prefix), []).append(ex)
        cacheable = [ex for ex in records if kind_of(_path(ex), api_prefix) != "api"]
        rows.append({"pop": pop, "address": address, **summary(records), "hit_ratio": hit_ratio(cacheable),
                     "kinds": {kind: {**summary(by_kind[kind]),
                                      **({} if kind == "api" else {"hit_ratio": hit_ratio(by_kind[kind])})}
                               for kind in KINDS if kind in by_kind}})
    return {"unit": "ms", "percentiles": "nearest rank", "edges": rows}


def markdown(block: Mapping[str, Any]) -> list[str]:
    """The per-edge table of the Markdown summary."""
    lines = ["## Latency per edge", "", "| edge (POP, address) | kind | requests | TTFB p50 / p95 ms | total p50 / p95 ms "
             "| TLS p95 ms | cache hits |", "|---|---|---|---|---|---|---|"]
    for edge in block.get("edges") or []:
        for kind, row in (edge.get("kinds") or {}).items():
            hit = row.get("hit_ratio", edge.get("hit_ratio"))  # per kind (older reports: the edge's)
            lines.append(f"| {edge['pop']} {edge['address']} | {kind} | {row['requests']} | "
                         f"{row.get('ttfb_p50_ms', '-')} / {row.get('ttfb_p95_ms', '-')} | "
                         f"{row.get('total_p50_ms', '-')} / {row.get('total_p95_ms', '-')} | "
                         f"{row.get('tls_p95_ms', '-')} | {'-' if hit is None or kind == 'api' else f'{hit:.0%}'} |")
    return lines
