"""Latency trends from the run history: each run's latency per edge (the report's `latency` block, latency.py) is
recorded, and this run's p95 per edge and kind of request is set against the median p95 of that edge's last runs.

Recorded per run, edge (POP and address) and kind (document, asset, api): requests, p50 and p95 of TTFB and total,
and the cache-hit ratio; at most MAX_ROWS rows a run (the busiest), deleted with their run by retention.

The trend (the `latency` entry of the report's `history` block, `trend()`) is keyed by the edge as viewers meet it:
its POP (X-Amz-Cf-Pop), or its address when no POP was named, since CloudFront's DNS hands out different addresses
of one POP from run to run; a POP reached at several addresses in one run counts with the highest p95 of them.
A regression is this run's p95 above the median of the edge's last TREND_RUNS runs by more than REGRESSION_RATIO
and by more than REGRESSION_MS (both: a fast edge's few milliseconds of jitter are not one), judged once the edge has
MIN_RUNS earlier runs. It is an advisory warning of the run, failing nothing: the budgets a target declares
(`budgets:`) are what fails, judged by the latency.budget rule.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..latency import KINDS
from .store import Database

TREND_RUNS = 7  # N: this run's p95 against the median p95 of the edge's last N recorded runs
MIN_RUNS = 3  # fewer earlier runs of the edge: the change is shown, no regression is flagged
REGRESSION_RATIO = 1.5  # a regression: more than +50 % ...
REGRESSION_MS = 50.0  # ... and more than +50 ms above that median
LOOKBACK_RUNS = 30  # earlier runs of the target read to find each edge's last N
MAX_ROWS = 60  # rows recorded per run (edge x kind), the busiest first
WARNINGS_MAX = 5  # regressions said one by one; beyond, one warning counts the rest
METRICS = ("ttfb", "total")
LABEL = {"ttfb": "TTFB", "total": "total"}
NO_POP = "-"
TEXT_MAX = 200


@dataclass(frozen=True, slots=True)
class Sample:
    """One edge (POP and address) and kind of request in one run, as the history stores it."""

    pop: str
    address: str
    kind: str
    requests: int
    ttfb_p50_ms: float | None = None
    ttfb_p95_ms: float | None = None
    total_p50_ms: float | None = None
    total_p95_ms: float | None = None
    hit_ratio: float | None = None

    @property
    def edge(self) -> str:
        """The edge as the trend names it: the POP, else the address."""
        return self.pop if self.pop and self.pop != NO_POP else self.address


@dataclass(frozen=True, slots=True)
class Point:
    """One edge (as the trend names it) and kind in one run: its addresses taken together."""

    requests: int
    p95: Mapping[str, float | None]  # metric -> ms
    hit_ratio: float | None
    addresses: tuple[str, ...]


def samples(block: Mapping[str, Any] | None) -> list[Sample]:
    """The per-edge, per-kind rows of a report's latency block, the busiest first, at most MAX_ROWS."""
    found = []
    for edge in (block or {}).get("edges") or []:
        if not isinstance(edge, Mapping):
            continue
        for kind, row in (edge.get("kinds") or {}).items():
            if kind not in KINDS or not isinstance(row, Mapping) or not row.get("requests"):
                continue
            found.append(Sample(
                str(edge.get("pop") or NO_POP)[:TEXT_MAX], str(edge.get("address") or "-")[:TEXT_MAX], kind,
                int(row["requests"]), ttfb_p50_ms=_ms(row.get("ttfb_p50_ms")), ttfb_p95_ms=_ms(row.get("ttfb_p95_ms")),
                total_p50_ms=_ms(row.get("total_p50_ms")), total_p95_ms=_ms(row.get("total_p95_ms")),
                hit_ratio=_ms(row.get("hit_ratio", edge.get("hit_ratio") if kind != "api" else None))))
    found.sort(key=lambda s: (-s.requests, s.pop, s.address, s.kind))
    return found[:MAX_ROWS]


def points(rows: Iterable[Sample]) -> dict[tuple[str, str], Point]:
    """One run's samples per (edge, kind): requests summed, the highest p95 of the edge's addresses, the cache-hit
    ratio weighted by requests."""
    groups: dict[tuple[str, str], list[Sample]] = {}
    for s in rows:
        groups.setdefault((s.edge, s.kind), []).append(s)
    found = {}
    for key, group in groups.items():
        p95: dict[str, float | None] = {}
        for metric in METRICS:
            values = [v for v in (getattr(s, f"{metric}_p95_ms") for s in group) if v is not None]
            p95[metric] = max(values) if values else None
        hits = [(s.hit_ratio, s.requests) for s in group if s.hit_ratio is not None]
        weight = sum(n for _, n in hits)
        ratio = round(sum(h * n for h, n in hits) / weight, 3) if hits and weight else None
        found[key] = Point(sum(s.requests for s in group), p95, ratio, tuple(sorted({s.address for s in group})))
    return found


def trend(today: Sequence[Sample], earlier: Sequence[Sequence[Sample]], *, runs: int = TREND_RUNS,
          min_runs: int = MIN_RUNS, ratio: float = REGRESSION_RATIO, ms: float = REGRESSION_MS) -> dict[str, Any]:
    """This run's p95 per edge and kind against the median p95 of the edge's last `runs` earlier runs (`earlier`:
    each earlier run's samples, newest first); a row is `regressed` on a metric beyond both thresholds."""
    now = points(today)
    before = [points(run) for run in earlier]
    rows = []
    for (edge, kind), point in sorted(now.items(), key=lambda kv: (kv[0][0], KINDS.index(kv[0][1]))):
        series = [run[(edge, kind)] for run in before if (edge, kind) in run][:runs]
        row: dict[str, Any] = {"edge": edge, "addresses": list(point.addresses), "kind": kind,
                               "requests": point.requests, "runs": len(series), "regressed": []}
        for metric in METRICS:
            value = point.p95[metric]
            past = [v for v in (p.p95[metric] for p in series) if v is not None]
            median = round(statistics.median(past), 1) if past else None
            row[f"{metric}_p95_ms"] = value
            row[f"{metric}_median_ms"] = median
            row[f"{metric}_change_pct"] = (round((value - median) / median * 100, 1)
                                           if value is not None and median else None)
            if (value is not None and median is not None and len(past) >= min_runs
                    and value > median * ratio and value - median > ms):
                row["regressed"].append(metric)
        past_hits = [p.hit_ratio for p in series if p.hit_ratio is not None]
        row["hit_ratio"] = point.hit_ratio
        row["hit_ratio_median"] = round(statistics.median(past_hits), 3) if past_hits else None
        rows.append(row)
    return {"window": runs, "min_runs": min_runs, "threshold": {"ratio": ratio, "ms": ms},
            "first": not any(before), "rows": rows}


def warnings(block: Mapping[str, Any] | None) -> list[str]:
    """A warning per edge and kind that regressed (advisory: it fails nothing), at most WARNINGS_MAX and one
    counting the rest."""
    if not block:
        return []
    threshold = block.get("threshold") or {}
    beyond = f"+{(float(threshold.get('ratio', REGRESSION_RATIO)) - 1) * 100:.0f} % and " \
             f"+{float(threshold.get('ms', REGRESSION_MS)):g} ms"
    found = []
    for row in block.get("rows") or []:
        if not row.get("regressed"):
            continue
        parts = [f"{LABEL[m]} p95 {_n(row[f'{m}_p95_ms'])} ms against a median of {_n(row[f'{m}_median_ms'])} ms "
                 f"({_pct(row[f'{m}_change_pct'])})" for m in row["regressed"]]
        found.append(f"latency regression at edge {row['edge']} ({row['kind']}): {'; '.join(parts)} over its last "
                     f"{row['runs']} runs, beyond {beyond}; advisory, failing nothing (declare budgets: in the target "
                     "to fail on a limit, judged by latency.budget)")
    if len(found) > WARNINGS_MAX:
        rest = len(found) - WARNINGS_MAX
        found = found[:WARNINGS_MAX] + [f"and {rest} more latency regression{'s' if rest != 1 else ''} at other "
                                        "edges and kinds (the latency trend in summary.md)"]
    return found


# -- the database ---------------------------------------------------------------------------------------------

COLUMNS = "pop, address, kind, requests, ttfb_p50_ms, ttfb_p95_ms, total_p50_ms, total_p95_ms, hit_ratio"


def record(db: Database, run_id: int, doc: Mapping[str, Any]) -> int:
    """Store a run's latency rows (inside the caller's transaction); how many."""
    rows = samples(doc.get("latency"))
    db.executemany(f"INSERT INTO latency (run_id, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (run_id, pop, address, kind) DO NOTHING",
                   [(run_id, s.pop, s.address, s.kind, s.requests, s.ttfb_p50_ms, s.ttfb_p95_ms, s.total_p50_ms,
                     s.total_p95_ms, s.hit_ratio) for s in rows])
    return len(rows)


def earlier_runs(db: Database, target_id: int, before: float, lookback: int = LOOKBACK_RUNS
                 ) -> list[tuple[float, list[Sample]]]:
    """The target's last `lookback` runs started before `before` that recorded latency: (start, samples), newest
    first."""
    runs = db.query("SELECT id, started_at FROM runs WHERE target_id = ? AND started_at < ? AND EXISTS "
                    "(SELECT 1 FROM latency l WHERE l.run_id = runs.id) ORDER BY started_at DESC, id DESC LIMIT ?",
                    (target_id, before, lookback))
    return _with_samples(db, runs)


def _with_samples(db: Database, runs: list[tuple[Any, ...]]) -> list[tuple[float, list[Sample]]]:
    if not runs:
        return []
    found: dict[int, list[Sample]] = {int(r[0]): [] for r in runs}
    ids = list(found)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for run_id, *values in db.query(f"SELECT run_id, {COLUMNS} FROM latency WHERE run_id IN ({marks}) "
                                        "ORDER BY run_id, pop, address, kind", chunk):
            pop, address, kind, requests, *numbers = values
            found[int(run_id)].append(Sample(pop, address, kind, int(requests), *(_ms(n) for n in numbers)))
    return [(float(started), found[int(rid)]) for rid, started in runs]


def view(doc: Mapping[str, Any], db: Database | None, target_id: int | None, before: float) -> dict[str, Any] | None:
    """The trend of the run `doc` against the target's earlier runs (None: the run measured no latency)."""
    today = samples(doc.get("latency"))
    if not today:
        return None
    earlier = earlier_runs(db, target_id, before) if db is not None and target_id is not None else []
    return trend(today, [s for _, s in earlier])


@dataclass(slots=True)
class Week:
    """One edge and kind in one ISO week of `edgeverify history --latency`."""

    week: str
    edge: str
    kind: str
    runs: int = 0
    requests: int = 0
    ttfb: list[float] | None = None
    total: list[float] | None = None
    hits: list[float] | None = None


def weekly(db: Database, target_id: int, since: float) -> tuple[list[Week], dict[str, Any] | None, float | None]:
    """Per ISO week, edge and kind: runs, and the p95s of the runs; with the newest run's trend against the runs
    before it (and that run's start)."""
    from .trends import iso_week

    runs = db.query("SELECT id, started_at FROM runs WHERE target_id = ? AND started_at >= ? AND EXISTS "
                    "(SELECT 1 FROM latency l WHERE l.run_id = runs.id) ORDER BY started_at, id", (target_id, since))
    weeks: dict[tuple[str, str, str], Week] = {}
    loaded = _with_samples(db, runs)
    for started, rows in loaded:
        for (edge, kind), point in points(rows).items():
            key = (iso_week(started), edge, kind)
            w = weeks.setdefault(key, Week(*key, ttfb=[], total=[], hits=[]))
            w.runs += 1
            w.requests += point.requests
            for metric, into in (("ttfb", w.ttfb), ("total", w.total)):
                if point.p95[metric] is not None and into is not None:
                    into.append(float(point.p95[metric] or 0.0))
            if point.hit_ratio is not None and w.hits is not None:
                w.hits.append(point.hit_ratio)
    ordered = [weeks[k] for k in sorted(weeks, key=lambda k: (k[1], KINDS.index(k[2]) if k[2] in KINDS else 9, k[0]))]
    if not loaded:
        return ordered, None, None
    last_start, last = loaded[-1]
    earlier = earlier_runs(db, target_id, last_start)
    return ordered, trend(last, [s for _, s in earlier]), last_start


# -- what the outputs say -----------------------------------------------------------------------------------------

def describe(row: Mapping[str, Any], block: Mapping[str, Any]) -> str:
    """One edge and kind in one line: this run's p95 against the median of the edge's last runs, and the change."""
    head = f"{row['edge']} {row['kind']}"
    if not row.get("runs"):
        return (f"{head}: TTFB p95 {_n(row.get('ttfb_p95_ms'))} ms, total p95 {_n(row.get('total_p95_ms'))} ms; "
                "no trend yet (no earlier run recorded this edge)")
    parts = [f"{LABEL[m]} p95 {_n(row.get(f'{m}_p95_ms'))} ms vs {_n(row.get(f'{m}_median_ms'))} ms "
             f"({_pct(row.get(f'{m}_change_pct'))})" for m in METRICS]
    if row.get("hit_ratio") is not None:
        parts.append(f"cache hits {_share(row['hit_ratio'])} vs {_share(row.get('hit_ratio_median'))}")
    runs = int(row["runs"])
    text = f"{head}: {', '.join(parts)}; median of its last {runs} run{'s' if runs != 1 else ''}"
    if runs < int(block.get("min_runs") or MIN_RUNS):
        text += f" (a regression is flagged from {block.get('min_runs') or MIN_RUNS} runs)"
    if row.get("regressed"):
        text += " -- REGRESSION (" + ", ".join(LABEL[m] for m in row["regressed"]) + ")"
    return text


def terminal_lines(block: Mapping[str, Any] | None, shown: int = 6) -> list[str]:
    """The trend for the terminal: a line per edge and kind, regressions first."""
    if not block:
        return []
    if block.get("first"):
        return ["latency: no trend yet: the first run recording latency for this target (p95 per edge in "
                "summary.md)"]
    rows = list(block.get("rows") or [])
    regressed = [r for r in rows if r.get("regressed")]
    lines = [f"latency p95 {describe(r, block)}" for r in regressed[:shown]]
    if len(regressed) > shown:
        lines.append(f"latency: and {len(regressed) - shown} more regressions (summary.md)")
    steady = [r for r in rows if not r.get("regressed")]
    if steady:  # a nightly run's usual case is one line, not one per edge and kind: the table is in summary.md
        compared = [r for r in steady if r.get("runs")]
        if compared:
            worst = max(compared, key=lambda r: max((r.get(f"{m}_change_pct") or 0.0) for m in METRICS))
            change = max((worst.get(f"{m}_change_pct") or 0.0) for m in METRICS)
            lines.append(f"latency: p95 of {len(steady)} edge and kind pair(s) within the trend, the largest rise "
                         f"{worst['edge']} {worst['kind']} {change:+.0f} % (median of up to {block.get('window')} "
                         "runs; the table in summary.md)")
        else:
            lines.append(f"latency: {len(steady)} edge and kind pair(s) with no earlier run to compare with yet")
    return lines


def markdown(block: Mapping[str, Any] | None) -> list[str]:
    """The trend as a Markdown subsection of the history section."""
    if not block:
        return []
    lines = ["### Latency trend", ""]
    if block.get("first"):
        return lines + ["No trend yet: this is the first run recording latency for this target."]
    threshold = block.get("threshold") or {}
    lines += [f"p95 of this run per edge and kind against the median p95 of the edge's last {block.get('window')} "
              f"runs. A regression (⚠️, an advisory warning) is above +{(threshold.get('ratio', 1.5) - 1) * 100:.0f} % "
              f"and +{threshold.get('ms', REGRESSION_MS):g} ms, with at least {block.get('min_runs')} earlier runs.",
              "", "| edge | kind | TTFB p95 ms | median | change | total p95 ms | median | change | cache hits (median) "
              "| runs | |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in block.get("rows") or []:
        hits = "-" if r.get("hit_ratio") is None else f"{_share(r['hit_ratio'])} ({_share(r.get('hit_ratio_median'))})"
        flag = "⚠️ regression" if r.get("regressed") else ("no trend yet" if not r.get("runs") else "")
        lines.append(f"| {r['edge']} | {r['kind']} | " + " | ".join(
            f"{_n(r.get(f'{m}_p95_ms'))} | {_n(r.get(f'{m}_median_ms'))} | {_pct(r.get(f'{m}_change_pct'))}"
            for m in METRICS) + f" | {hits} | {r.get('runs', 0)} | {flag} |")
    return lines


def table(name: str, domain: str, weeks: list[Week], latest: Mapping[str, Any] | None, latest_at: float | None
          ) -> list[str]:
    """`edgeverify history --latency` for one target: per edge, kind and week, then the newest run's trend."""
    out = [f"{name} ({domain}): latency per edge (p95 of each run; median and worst of the week's runs)"]
    if not weeks:
        return out + ["  no run recorded latency", ""]
    width = max(len("edge"), *(len(w.edge) for w in weeks))
    out.append(f"  {'edge':<{width}}  {'kind':<8}  {'week':<8}  {'runs':>4}  {'TTFB p95 median':>15}  "
               f"{'worst':>7}  {'total p95 median':>16}  {'worst':>7}  {'cache hits':>10}")
    for w in weeks:
        ttfb, total, hits = w.ttfb or [], w.total or [], w.hits or []
        out.append(f"  {w.edge:<{width}}  {w.kind:<8}  {w.week:<8}  {w.runs:>4}  "
                   f"{_n(statistics.median(ttfb) if ttfb else None):>15}  {_n(max(ttfb) if ttfb else None):>7}  "
                   f"{_n(statistics.median(total) if total else None):>16}  {_n(max(total) if total else None):>7}  "
                   f"{_share(statistics.median(hits) if hits else None):>10}")
    if latest is not None and latest_at is not None:
        when = dt.datetime.fromtimestamp(latest_at, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(f"  newest run ({when}) against the median of each edge's last {latest.get('window')} runs:")
        if latest.get("first"):
            out.append("    no trend yet: no earlier run recorded latency")
        out += [f"    {describe(r, latest)}" for r in latest.get("rows") or []]
    return out + [""]


SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["window", "min_runs", "threshold", "first", "rows"],
    "properties": {
        "window": {"type": "integer", "minimum": 1}, "min_runs": {"type": "integer", "minimum": 0},
        "threshold": {"type": "object", "required": ["ratio", "ms"],
                      "properties": {"ratio": {"type": "number"}, "ms": {"type": "number"}}},
        "first": {"type": "boolean"},
        "rows": {"type": "array", "items": {
            "type": "object", "required": ["edge", "kind", "requests", "runs", "regressed"],
            "properties": {
                "edge": {"type": "string"}, "addresses": {"type": "array", "items": {"type": "string"}},
                "kind": {"enum": list(KINDS)}, "requests": {"type": "integer", "minimum": 0},
                "runs": {"type": "integer", "minimum": 0},
                "regressed": {"type": "array", "items": {"enum": list(METRICS)}},
                "hit_ratio": {"type": ["number", "null"]}, "hit_ratio_median": {"type": ["number", "null"]},
                **{f"{m}_{what}": {"type": ["number", "null"]} for m in METRICS
                   for what in ("p95_ms", "median_ms", "change_pct")}}}}}}


def _ms(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _n(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value):+.0f} %"


def _share(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0%}"
