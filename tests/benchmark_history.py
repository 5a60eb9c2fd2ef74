"""Benchmark of the run history: record 10,000 runs x 60 checks (batch inserts) with each run's latency per edge
and kind, then time the regression view of one target's last 30 runs (with the latency trend), and print the
database size.

Run: .venv/bin/python tests/benchmark_history.py [--runs 10000] [--checks 60] [--targets 10] [--edges 2] [--db URL]
(--edges 0: runs without latency, to see what the latency rows cost)
(default: a SQLite file in a temporary folder; --db postgresql://... for a PostgreSQL server).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "history"))

from history_builder import run_doc  # noqa: E402

from edgeverify.history import open_db, record_run, record_runs, regression_view  # noqa: E402
from edgeverify.history.store import to_iso  # noqa: E402
from edgeverify.history.view import _previous, _target_id  # noqa: E402

GOAL_MS = 100.0
BATCH = 250


def checks(n: int) -> list[tuple[str, str, str]]:
    rules = [("static.served", "static"), ("cache.immutable_assets", "cache"), ("api.call", "api"),
             ("cors.preflight", "cors"), ("https.hsts", "https"), ("spa.deep_link", "spa")]
    return [(f"{rules[i % 6][0]}[/page/{i:03d}]", rules[i % 6][0], rules[i % 6][1]) for i in range(n)]


def latency(edges: int, rng: random.Random) -> dict | None:
    """A latency block (latency.py's form): `edges` POPs, each with documents, assets and API calls."""
    if not edges:
        return None
    rows = []
    for e in range(edges):
        kinds = {}
        for kind, base in (("document", 40.0), ("asset", 15.0), ("api", 80.0)):
            ttfb = base * rng.uniform(0.8, 1.3)
            kinds[kind] = {"requests": 10, "ttfb_p50_ms": round(ttfb * 0.7, 1), "ttfb_p95_ms": round(ttfb, 1),
                           "total_p50_ms": round(ttfb * 0.8, 1), "total_p95_ms": round(ttfb * 1.1, 1),
                           **({} if kind == "api" else {"hit_ratio": round(rng.random(), 3)})}
        rows.append({"pop": f"FRA{50 + e}-P1", "address": f"192.0.2.{e + 1}", "kinds": kinds})
    return {"unit": "ms", "percentiles": "nearest rank", "edges": rows}


def docs_for(target: int, runs: int, cks: list[tuple[str, str, str]], rng: random.Random, start: float,
             edges: int = 0):
    ids = [c[0] for c in cks]
    for r in range(runs):
        failing = [i for i in ids[1:] if rng.random() < 0.02]
        if r >= runs - 200:
            failing.append(ids[0])  # a failure ongoing for 200 runs: its first-seen time lies outside the window
        doc = run_doc(to_iso(start + r * 3600), failing, checks=cks, target_name=f"site{target}",
                      domain=f"www{target}.example.test", converged={ids[2]: rng.uniform(0, 30)})
        doc["latency"] = latency(edges, rng)
        yield doc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=60)
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--edges", type=int, default=2, help="POPs in each run's latency block (x 3 kinds)")
    parser.add_argument("--db")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory(prefix="edgeverify-bench-")
    url = args.db or f"sqlite:///{Path(folder.name) / 'history.sqlite'}"
    cks, rng, start = checks(args.checks), random.Random(7), 1_780_000_000.0
    per_target = args.runs // args.targets
    print(f"recording {per_target * args.targets} runs x {args.checks} checks and {args.edges * 3} latency rows "
          f"into {url.split('@')[-1]} "
          f"({args.targets} targets, batches of {BATCH} runs, one transaction each)")
    began, building = time.perf_counter(), 0.0
    for t in range(args.targets):
        gen = docs_for(t, per_target, cks, rng, start, args.edges)
        while True:
            b0 = time.perf_counter()
            batch = [d for _, d in zip(range(BATCH), gen)]
            building += time.perf_counter() - b0
            if not batch:
                break
            record_runs(batch, url)
    total = time.perf_counter() - began
    writing = total - building
    rows = per_target * args.targets * args.checks
    print(f"  recorded in {writing:.1f} s of database time ({rows / writing:,.0f} check rows/s; "
          f"{building:.1f} s more building the report dicts)")
    with open_db(url) as db:
        size = db.size_bytes()
        print(f"  database size: {size / 2**20:.1f} MiB ({size / rows:.0f} bytes per check row)")

    last = run_doc(to_iso(start + per_target * 3600), [cks[0][0]], checks=cks, target_name="site0",
                   domain="www0.example.test")
    last["latency"] = latency(args.edges, rng)
    with open_db(url) as db:
        target = _target_id(db, last)
        assert target is not None
        query = []
        for _ in range(args.repeat):
            q0 = time.perf_counter()
            previous = _previous(db, target, start + per_target * 3600, 29)
            query.append((time.perf_counter() - q0) * 1000)
    assert len(previous) == 29
    view_ms = []
    for _ in range(args.repeat):
        v0 = time.perf_counter()
        view = regression_view(last, url)
        view_ms.append((time.perf_counter() - v0) * 1000)
    assert len(view["trend"]) == 30 and view["ongoing"][0]["id"] == cks[0][0]
    assert args.edges == 0 or {r["runs"] for r in view["latency"]["rows"]} == {7}
    print(f"  last 30 runs of one target (runs + {args.checks} results each): median "
          f"{statistics.median(query):.1f} ms, max {max(query):.1f} ms  (goal < {GOAL_MS:.0f} ms)")
    print(f"  whole regression view (open, new/recovered/ongoing with first-seen 200 runs back, flaky, trend, "
          f"latency trend of {args.edges * 3} edges x kinds): "
          f"median {statistics.median(view_ms):.1f} ms, max {max(view_ms):.1f} ms  (goal < {GOAL_MS:.0f} ms)")
    r0 = time.perf_counter()
    record_run(last, url)
    print(f"  one more run recorded with retention checks: {(time.perf_counter() - r0) * 1000:.0f} ms")
    folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
