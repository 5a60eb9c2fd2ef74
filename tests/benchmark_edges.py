"""Benchmark of multi-edge verification: a 5-edge run against a 1-edge run of the same checks (goal: under 1.5x).

Both discover their edges from the lab's Knot DNS server with EDNS Client Subnet (regions mode) and run the
release gate and the core checks per edge, edges in parallel. Prints the median wall time of each, requests
and DNS queries, and the ratio next to the goal.
On loopback every request takes about a millisecond, so the run is CPU-bound Python on this machine's shared
cores; `--rtt-ms 30` puts a delaying TCP relay (its own process) in front of each edge, on 127.0.0.41.., and
points the DNS answers there, so the comparison is made at a real network's round-trip time as well.
Run: .venv/bin/python tests/benchmark_edges.py [--repeat 7] [--edges 5] [--rtt-ms 0,30]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgeverify.edges import run_edges  # noqa: E402
from edgeverify.edges.verify import EdgeRun  # noqa: E402
from edgeverify.lab import Lab  # noqa: E402
from edgeverify.edges.regions import REGION_PREFIXES  # noqa: E402
from edgeverify.lab.dns import LabDns, SubnetAnswer  # noqa: E402
from edgeverify.lab.fleet import REGIONS, Fleet  # noqa: E402
from edgeverify.rules.edges import check_consistent  # noqa: E402
from edgeverify.target import load_target  # noqa: E402

GOAL = 1.5
RELAY_FIRST = 41  # relays listen on 127.0.0.41.., one per edge

# A TCP relay that delays every chunk by half the round-trip time in each direction (order kept).
_RELAY = r"""
import asyncio, json, sys, time
pairs, half = json.loads(sys.argv[1]), float(sys.argv[2]) / 2000

async def pipe(reader, writer):
    queue = asyncio.Queue()
    async def send():
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()
    task = asyncio.ensure_future(send())
    while True:
        data = await reader.read(65536)
        await queue.put((time.monotonic() + half, data))
        if not data:
            break
    await task

async def main():
    async def serve(listen, upstream):
        async def handle(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection(*upstream)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
        return await asyncio.start_server(handle, *listen)
    servers = [await serve(tuple(a), tuple(b)) for a, b in pairs]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers), asyncio.get_running_loop().run_in_executor(None, sys.stdin.read))

asyncio.run(main())
"""


@contextlib.contextmanager
def delayed(fleet: Fleet, rtt_ms: float) -> Iterator[str]:
    """Relays with `rtt_ms` round trip in front of the fleet, and a DNS server answering with them: its ADDR:PORT."""
    pairs = [[[f"127.0.0.{RELAY_FIRST + e.index}", port], [e.address, port]]
             for e in fleet.edges for port in (fleet.https_port, fleet.http_port)]
    import json

    relay = subprocess.Popen([sys.executable, "-c", _RELAY, json.dumps(pairs), str(rtt_ms)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, start_new_session=True)
    assert relay.stdout is not None
    try:
        if not select.select([relay.stdout], [], [], 10)[0] or b"ready" not in relay.stdout.readline():
            raise SystemExit("the delaying relay did not start")
        answers = [SubnetAnswer(REGION_PREFIXES[e.region], (f"127.0.0.{RELAY_FIRST + e.index}",)) for e in fleet.edges]
        with LabDns("www.example.test", answers, [f"127.0.0.{RELAY_FIRST}"]) as dns:
            yield dns.nameserver
    finally:
        relay.kill()
        relay.wait()


def one_run(fleet: Fleet, lab: Lab, edges: int, nameserver: str) -> EdgeRun:
    target = load_target(ROOT / "targets/local-lab.yaml")
    target.connect_to, target.ca_bundle = fleet.connect_to, str(lab.ca_bundle)
    target.edges.mode, target.edges.regions = "regions", list(REGIONS[:edges])
    target.edges.nameservers = [nameserver]
    started = time.monotonic()
    run = run_edges(target, deadline=started + 30, started=started)
    check_consistent(run.results, target.propagation.release_marker)
    if len(run.results) != edges or any(r.status != "passed" for r in run.results):
        raise SystemExit(f"benchmark run did not pass: {[(r.address, r.status) for r in run.results]}")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--edges", type=int, default=5)
    parser.add_argument("--rtt-ms", default="0,30", help="comma-separated round-trip times (0: loopback, no relay)")
    args = parser.parse_args()
    print(f"{'rtt ms':>6} {'edges':>5} {'wall s (median)':>16} {'min s':>7} {'requests':>9} {'dns queries':>12}")
    with Lab() as lab, Fleet(lab, args.edges) as fleet:
        for rtt in [float(r) for r in args.rtt_ms.split(",")]:
            with (delayed(fleet, rtt) if rtt else contextlib.nullcontext(fleet.dns.nameserver)) as nameserver:
                assert nameserver is not None
                one_run(fleet, lab, args.edges, nameserver)  # warm up: imports, nginx workers, relay
                rows = {}
                for count in (1, args.edges):
                    runs = [one_run(fleet, lab, count, nameserver) for _ in range(args.repeat)]
                    rows[count] = (statistics.median(r.wall_s for r in runs), min(r.wall_s for r in runs),
                                   runs[0].requests, runs[0].discovery.queries)
            for count, (median, fastest, requests, queries) in rows.items():
                print(f"{rtt:>6g} {count:>5} {median:>16.3f} {fastest:>7.3f} {requests:>9} {queries:>12}")
            print(f"{'':>6} {args.edges}-edge / 1-edge wall time: {rows[args.edges][0] / rows[1][0]:.2f}x "
                  f"(goal: under {GOAL}x)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
