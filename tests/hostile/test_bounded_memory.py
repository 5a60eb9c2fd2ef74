"""A run's memory is bounded by the run, not multiplied by every cut body (issue 18, item 7).

A whole run against an edge whose bodies never end, or explode (a gzip bomb), at the default max_body_bytes,
stays under 150 MB peak RSS, as the kernel counts it. Memory, not time: it holds on a loaded machine. The run is
started by tests/benchmark_memory.py in a fresh process, with the edge served by another one: a child's peak
RSS counts its parent's at the fork, and this test's process (pytest, the other hostile servers) is large.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("case", ["endless-body", "gzip-bomb"])
def test_a_run_against_endless_or_exploding_bodies_stays_within_its_memory_bound(case):
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "benchmark_memory.py"), "--json", "--sizes", "default",
                           "--cases", case], capture_output=True, text=True, timeout=400, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads(proc.stdout.splitlines()[-1])
    print(f"\n{case}: peak RSS {run['rss_mb']:.0f} MB (bound {run['bound_mb']:.0f} MB), {run['wall']:.1f} s")
    assert run["exit"] == 1  # the run ended by itself, with its verdict (no check can pass on these bodies)
    assert run["rss_mb"] <= run["bound_mb"], run
