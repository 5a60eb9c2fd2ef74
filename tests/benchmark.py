"""Benchmark of the main job: all suites against the lab edge, at several xdist worker counts.

Prints wall time, checks, requests sent, requests per connection (keep-alive) and peak memory.
Run: .venv/bin/python tests/benchmark.py [--repeat 3] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgeverify.lab import Lab  # noqa: E402


def traffic(access_log: Path) -> tuple[int, int]:
    """(requests, distinct client connections) the edge saw; the lab logs $connection per request."""
    text = access_log.read_text() if access_log.exists() else ""
    return text.count("\n"), len(set(re.findall(r"conn=(\d+)", text)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", default="0,2,4", help="comma-separated -n values (0: no xdist)")
    args = parser.parse_args()
    print(f"{'workers':>7} {'wall s (median)':>16} {'min s':>7} {'checks':>7} {'requests':>9} "
          f"{'conns':>6} {'req/conn':>8}")
    with Lab() as lab:
        for n in [int(w) for w in args.workers.split(",")]:
            walls = []
            for _ in range(args.repeat):
                edge = lab.edge()
                log = edge.root / "access.log"
                if log.exists():
                    log.write_text("")
                reports = Path(tempfile.mkdtemp(prefix="ev-bench-"))
                cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore",
                       "--target", str(ROOT / "targets/local-lab.yaml"), "--reports-dir", str(reports),
                       "--junitxml", str(reports / "junit.xml")] + (["-n", str(n)] if n else [])
                start = time.perf_counter()
                proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **edge.env()}, capture_output=True, text=True)
                walls.append(time.perf_counter() - start)
                if proc.returncode != 0:
                    print(proc.stdout[-3000:], proc.stderr[-2000:])
                    return 1
            doc = json.loads((reports / "edgeverify.json").read_text())
            requests, conns = traffic(log)
            ratio = f"{requests / conns:.1f}" if conns > 0 else "n/a"
            print(f"{n or 'none':>7} {statistics.median(walls):>16.2f} {min(walls):>7.2f} {len(doc['checks']):>7} "
                  f"{requests:>9} {conns:>6} {ratio:>8}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of one pytest process (incl. workers): {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
