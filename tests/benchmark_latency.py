"""Benchmark: the report's per-edge latency table against an independent client (the issue's bound: within 10 %
at a 20 ms round trip). Figures are printed, not asserted.

The lab edge sits behind the benchmark's delay proxy. edgeverify runs the latency suite (fresh requests of each kind,
over its HTTP/2 connections) and writes the latency block; the independent client, Python's http.client over one
kept-alive TLS connection through the same proxy, times the same requests from sending to the response headers.
Both are the wait on an open connection (one round trip plus the edge's time: libcurl's time_starttransfer -
time_appconnect in the table); the medians are compared.
Run: .venv/bin/python tests/benchmark_latency.py [--rtt 20] [--requests 30]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmark import LAB_TARGET, DelayProxy  # noqa: E402

from edgeverify.lab import Lab  # noqa: E402

BOUND = 0.10


def independent(port: int, ca: str, path: str, n: int) -> list[float]:
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    conn._tunnel_host = None  # noqa: SLF001 - plain connection; SNI and Host set below
    conn.sock = ctx.wrap_socket(__import__("socket").create_connection(("127.0.0.1", port)),
                                server_hostname="www.example.test")
    times = []
    for i in range(n + 1):
        started = time.perf_counter()
        conn.request("GET", path, headers={"Host": "www.example.test", "Accept-Encoding": "gzip"})
        answer = conn.getresponse()
        ttfb = time.perf_counter() - started
        answer.read()
        if i:  # the first request pays for nothing more (the connection is open), kept out as a warm-up anyway
            times.append(ttfb * 1000)
    conn.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtt", type=float, default=20)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with Lab() as lab:
        edge = lab.edge()
        proxy = DelayProxy(edge.https_port, args.rtt)
        target = Path(tempfile.mkdtemp()) / "lab.yaml"
        target.write_text(LAB_TARGET.read_text() + f"budgets:\n  samples: {args.requests}\n")
        reports = Path(tempfile.mkdtemp())
        env = {**os.environ, "EDGEVERIFY_CONNECT_TO": f"www.example.test:443:127.0.0.1:{proxy.port}",
               "EDGEVERIFY_CA_BUNDLE": edge.ca_bundle}
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--target", str(target),
                        "--reports-dir", str(reports), "--history", "off", str(ROOT / "suites" / "test_latency.py")],
                       env=env, cwd=ROOT, capture_output=True, timeout=300)
        block = json.loads((reports / "edgeverify.json").read_text())["latency"]["edges"][0]
        theirs = independent(proxy.port, edge.ca_bundle, "/", args.requests)
    ours = block["kinds"]["document"]["wait_p50_ms"]
    other = statistics.median(theirs)
    print(f"round trip {args.rtt:g} ms, {args.requests} requests of the entry document each")
    print(f"{'client':<58} {'wait p50 ms':>12}")
    print("(edgeverify: libcurl's time_starttransfer - time_appconnect; independent: request sent to headers read,"
          " on an open connection)")
    print(f"{'edgeverify latency table (' + block['pop'] + ' ' + block['address'] + ', documents)':<58} {ours:>12.1f}")
    print(f"{'independent: http.client, one kept-alive TLS connection':<58} {other:>12.1f}")
    print(f"difference {abs(ours - other) / other:.1%} (bound {BOUND:.0%})")


if __name__ == "__main__":
    main()
