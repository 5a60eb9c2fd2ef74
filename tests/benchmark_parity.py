"""Benchmark of bucket parity: a 10,000-object bucket on moto's server, served through a loopback HTTPS edge
(nginx, S3's ETags), with 5 planted differences. Prints wall time, objects/s, peak RSS and the differences named.

The parity check runs in a child process of its own, so its peak RSS is the check's, not moto's or the setup's.
Run: .venv/bin/python tests/benchmark_parity.py [--objects 10000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "aws")]

FLOOR_WALL_S = 20.0
FLOOR_RSS_MB = 150.0
BUCKET = "parity-benchmark"


def objects(count: int) -> dict[str, bytes]:
    """Deterministic keys and bodies shaped like a built site: hashed assets of a few hundred bytes to a few KB."""
    rng = random.Random(20261126)
    kinds = (("assets", "js"), ("assets", "css"), ("img", "svg"), ("pages", "html"), ("data", "json"))
    files = {}
    for i in range(count):
        folder, ext = kinds[i % len(kinds)]
        body = (f"/* object {i} */\n".encode() + rng.randbytes(rng.randint(200, 4000)).hex().encode())[: rng.randint(150, 6000)]
        files[f"{folder}/{i // 1000:02d}/obj-{i:05d}-{hashlib.sha1(body).hexdigest()[:8]}.{ext}"] = body
    return files


def plant(files: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, str]]:
    """The edge's files: the bucket's, with 5 differences; and what each difference is."""
    keys = sorted(files)
    edge = dict(files)
    chosen = [keys[i] for i in (17, 2024, 4711, 7777, 9998 % len(keys))]
    what = {}
    for key in chosen[:2]:  # uploaded after the edge last saw the bucket: missing there
        del edge[key]
        what[key] = "missing at the edge"
    edge[chosen[2]] = files[chosen[2]] + b"\n/* previous build */\n"
    what[chosen[2]] = "edge serves a different size"
    edge[chosen[3]] = files[chosen[3]][:-40] + b"x" * 40
    what[chosen[3]] = "same size, different bytes (stale cache)"
    edge[chosen[4]] = b""
    what[chosen[4]] = "edge serves an empty object"
    return edge, what


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto server did not start")


def measure(endpoint: str, connect_to: str, ca_bundle: str, concurrency: int) -> dict[str, object]:
    """The parity check exactly as the config suite runs it: list, fetch through the edge, judge."""
    from edgeverify.aws import resources, session
    from edgeverify.rules import Violation
    from edgeverify.rules import config as rules
    from edgeverify.target import Aws, Target

    aws = Aws(endpoint_url=endpoint, bucket=BUCKET, parity_concurrency=concurrency)
    target = Target(domain="www.example.test", connect_to=[connect_to], ca_bundle=ca_bundle, aws=aws)
    start = time.perf_counter()
    run = resources.bucket_parity(session.client("s3", aws), BUCKET, "", target, "", aws.parity_max_objects,
                                  aws.parity_concurrency)
    rows, total = run.rows, run.total
    try:
        rules.check_bucket_parity(rows, BUCKET, total, run.planned)
        finding = "no difference found"
    except Violation as violation:
        finding = violation.actual
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    differing = sorted(r.obj.key for r in rows if rules.parity_problem(r))
    return {"wall_s": wall, "checked": len(rows), "total": total, "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime, "differing": differing,
            "finding": finding, "scope": rules.parity_scope(len(rows), total)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--concurrency", default="16", help="aws.parity_concurrency; comma-separated to compare")
    parser.add_argument("--measure", nargs=3, metavar=("ENDPOINT", "CONNECT_TO", "CA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure, int(args.concurrency))))
        return 0

    import boto3
    from parity_edge import ObjectEdge

    files = objects(args.objects)
    edge_files, planted = plant(files)
    os.environ.update(AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark", AWS_DEFAULT_REGION="us-east-1")
    moto, endpoint = start_moto()
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        setup = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda kv: s3.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1]), files.items()))
        print(f"setup: {len(files)} objects ({sum(map(len, files.values())) / 1e6:.1f} MB) uploaded to moto in "
              f"{time.perf_counter() - setup:.1f} s; edge serves {len(edge_files)} of them, 5 planted differences")
        with tempfile.TemporaryDirectory(prefix="ev-parity-bench-") as tmp, ObjectEdge(Path(tmp), edge_files) as edge:
            runs = []
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                before = edge.access_log.stat().st_size if edge.access_log.exists() else 0
                child = subprocess.run([sys.executable, __file__, "--concurrency", str(concurrency), "--measure",
                                        endpoint, edge.connect_to[0], edge.ca_bundle],
                                       capture_output=True, text=True, timeout=600)
                if child.returncode != 0:
                    print(child.stdout[-3000:], child.stderr[-3000:])
                    return 1
                after = edge.access_log.stat().st_size
                runs.append((concurrency, json.loads(child.stdout.strip().splitlines()[-1]), (before, after)))
            edge.stop()
            log = edge.access_log.read_bytes()
    finally:
        os.killpg(moto.pid, 15)
        moto.wait(10)

    status = 0
    for concurrency, figures, (before, after) in runs:
        status |= report(concurrency, figures, planted, log[before:after].decode().splitlines())
    return status


def report(concurrency: int, figures: dict, planted: dict[str, str], requests: list[str]) -> int:
    """Print one measured run next to the floors; 0 when every planted difference was named."""
    connections = len({line.split("conn=", 1)[1].split()[0] for line in requests if "conn=" in line})
    wall, rss = float(figures["wall_s"]), float(figures["peak_rss_mb"])
    checked = int(figures["checked"])
    print(f"parity: {figures['scope']}, concurrency {concurrency}")
    print(f"  wall time      {wall:6.1f} s   (floor <= {FLOOR_WALL_S:g} s: {'ok' if wall <= FLOOR_WALL_S else 'OVER'})"
          "   (listing and edge requests overlap)")
    print(f"  objects/s      {checked / wall:6.0f}")
    print(f"  CPU (checker)  {float(figures['cpu_s']):6.1f} s   ({float(figures['cpu_s']) * 1000 / max(1, checked):.2f} ms per "
          f"object, process total incl. imports); load average during the run {figures['load']}")
    print(f"  peak RSS       {rss:6.1f} MB  (floor <= {FLOOR_RSS_MB:g} MB: {'ok' if rss <= FLOOR_RSS_MB else 'OVER'})")
    print(f"  edge traffic   {len(requests)} requests over {connections} TLS connections")
    named = [key for key in planted if key in figures["differing"]]
    print(f"  differences    {len(named)} of {len(planted)} planted named"
          f"{'' if set(figures['differing']) == set(planted) else ' (and unexpected: ' + str(sorted(set(figures['differing']) - set(planted))) + ')'}")
    for key, what in planted.items():
        print(f"    {'found ' if key in named else 'MISSED'} {key}: {what}")
    print("  the finding, as reported:")
    for line in str(figures["finding"]).splitlines():
        print(f"    {line.strip()}")
    return 0 if set(named) == set(planted) else 1


if __name__ == "__main__":
    sys.exit(main())
