"""Benchmark: what the browser suite adds to the main job (the issue's bound: 5 s). Figures are printed, not asserted.

The main job (every suite, the lab target, `edgeverify run` as a user runs it) against the correct lab edge, with and
without the browser suite (`-m "not browser"`) and without only its service worker check (`-k "not service_worker"`:
the played deploy's share), runs alternating, the median of each shown with CPU time; and the
browser suite alone, with its one Chromium's start-up time (from the checks' `chromium` property).
Run: .venv/bin/python tests/benchmark_browser.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark import LAB_TARGET, measure  # noqa: E402

from edgeverify.lab import Lab  # noqa: E402

BOUND_S = 5.0  # issue 22: the browser suite adds at most this to the main job


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    edgeverify = str(Path(sys.executable).with_name("edgeverify"))
    with Lab() as lab:
        edge = lab.edge()
        env = {**os.environ, **edge.env()}
        rows: dict[str, list[dict[str, float]]] = {"main job with browser": [], "main job without browser": [],
                                                   "main job w/o service_worker": [],
                                                   "browser suite alone": []}
        launches: list[float] = []
        for _ in range(args.repeat):
            for name, extra in (("main job with browser", []), ("main job without browser", ["-m", "not browser"]),
                                ("main job w/o service_worker", ["-k", "not service_worker"]),
                                ("browser suite alone", ["-m", "browser"])):
                reports = Path(tempfile.mkdtemp(prefix="bench-browser-"))
                figures = measure([edgeverify, "run", str(LAB_TARGET), "--reports-dir", str(reports), "--",
                                   "--history", "off", *extra], env, ROOT)
                rows[name].append(figures)
                if name == "browser suite alone":
                    doc = json.loads((reports / "edgeverify.json").read_text())
                    about = dict(doc["checks"][0]["properties"]).get("chromium", "")
                    if " in " in about:
                        launches.append(float(about.rsplit(" in ", 1)[1].split()[0]))
    print(f"{'run':<28} {'wall s (median)':>16} {'cpu s':>8} {'exit':>5}")
    for name, runs in rows.items():
        print(f"{name:<28} {statistics.median(r['wall'] for r in runs):>16.2f} "
              f"{statistics.median(r['cpu'] for r in runs):>8.2f} {int(max(r['exit'] for r in runs)):>5}")
    added = (statistics.median(r["wall"] for r in rows["main job with browser"])
             - statistics.median(r["wall"] for r in rows["main job without browser"]))
    print(f"\nthe browser suite adds {added:.2f} s to the main job (bound {BOUND_S:g} s; {args.repeat} runs each); "
          f"Chromium starts in {statistics.median(launches) if launches else float('nan'):.2f} s (median, once per run)")


if __name__ == "__main__":
    main()
