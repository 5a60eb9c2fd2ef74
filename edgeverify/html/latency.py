"""The report page's latency section: the per-edge percentiles of the run (the report's `latency` block) and, with
a run history, each edge's p95 against the median of its last runs (the `latency` entry of the `history` block).
Both are read from the report as they are; nothing is computed again but the text of each cell."""

from __future__ import annotations

import math
from typing import Any

from ..history.latency import METRICS, MIN_RUNS, REGRESSION_MS, REGRESSION_RATIO, describe

MAX_ROWS = 120  # rows of each table; the rest is counted


def latency_view(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The section's rows, or None when the run measured no latency and the history says nothing of it."""
    block = _dict(doc.get("latency"))
    history = _dict(doc.get("history"))
    trend = history["latency"] if isinstance(history.get("latency"), dict) else None
    edges = []
    for edge in block.get("edges") or []:
        if not isinstance(edge, dict):
            continue
        for kind, row in (edge.get("kinds") or {}).items():
            if not isinstance(row, dict):
                continue
            hits = row.get("hit_ratio", edge.get("hit_ratio")) if kind != "api" else None
            edges.append({"edge": f"{edge.get('pop') or '-'} {edge.get('address') or '-'}", "kind": str(kind),
                          "requests": _int(row.get("requests")),
                          "ttfb": f"{_ms(row.get('ttfb_p50_ms'))} / {_ms(row.get('ttfb_p95_ms'))}",
                          "total": f"{_ms(row.get('total_p50_ms'))} / {_ms(row.get('total_p95_ms'))}",
                          "tls": _ms(row.get("tls_p95_ms")), "hits": _share(hits)})
    rows = []
    if trend is not None:
        for r in trend.get("rows") or []:
            if not isinstance(r, dict) or not isinstance(r.get("edge"), str) or not isinstance(r.get("kind"), str):
                continue
            regressed = [str(m) for m in r.get("regressed") or [] if m in METRICS]
            rows.append({"edge": r["edge"], "kind": r["kind"], "runs": _int(r.get("runs")), "regressed": regressed,
                         "cells": [(_ms(r.get(f"{m}_p95_ms")), _ms(r.get(f"{m}_median_ms")),
                                    _pct(r.get(f"{m}_change_pct")), m in regressed) for m in METRICS],
                         "hits": f"{_share(r.get('hit_ratio'))} ({_share(r.get('hit_ratio_median'))})",
                         "line": describe({**r, "regressed": regressed}, trend)})
    if not edges and trend is None:
        return None
    more = max(0, len(edges) - MAX_ROWS) + max(0, len(rows) - MAX_ROWS)
    edges, rows = edges[:MAX_ROWS], rows[:MAX_ROWS]
    threshold = trend.get("threshold") if trend is not None and isinstance(trend.get("threshold"), dict) else {}
    ratio, ms = _num(threshold.get("ratio")) or REGRESSION_RATIO, _num(threshold.get("ms")) or REGRESSION_MS
    return {"edges": edges, "more": more, "trend": None if trend is None else {
        "first": bool(trend.get("first")), "window": _int(trend.get("window")),
        "min_runs": _int(trend.get("min_runs")) or MIN_RUNS, "rows": rows,
        "threshold": f"+{(ratio - 1) * 100:.0f} % and +{ms:g} ms",
        "regressions": sum(1 for r in rows if r["regressed"])}}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ms(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.1f}"


def _pct(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:+.0f} %"


def _share(value: Any) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.0%}"
