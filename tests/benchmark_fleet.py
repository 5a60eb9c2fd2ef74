"""Benchmark: a fleet of targets (distinct domains, one lab edge), as the user waits for it. Figures are printed.

Each row is a whole `edgeverify run` process (start-up, collection, every suite, every report written):
one target alone, then N targets all in one process over one transfer loop (the default), then the same
N targets spread over 2 processes (`-n 2`). Wall, CPU (user + system, all processes) and peak RSS (the
largest process) are measured by the kernel (wait4).

Run: .venv/bin/python tests/benchmark_fleet.py [--targets 100,1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgeverify.lab import Lab  # noqa: E402

LAB_TARGET = ROOT / "targets" / "local-lab.yaml"
EDGEVERIFY = [sys.executable, "-m", "edgeverify.cli"]


def write_targets(folder: Path, edge: object, n: int) -> list[str]:
    """n target files, n domains (the lab's certificate covers *.example.test), all served by one lab edge."""
    text = LAB_TARGET.read_text()
    paths = []
    for i in range(n):
        domain = f"site-{i:04d}.example.test"
        connect = [spec.replace("www.example.test", domain) for spec in edge.connect_to]  # type: ignore[attr-defined]
        body = re.sub(r"^domain: .*$", f"domain: {domain}", text, flags=re.M)
        body += f"\nconnect_to: {json.dumps(connect)}\nca_bundle: {edge.ca_bundle}\n"  # type: ignore[attr-defined]
        path = folder / f"site-{i:04d}.yaml"
        path.write_text(body)
        paths.append(str(path))
    return paths


def measure(cmd: list[str], cwd: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEVERIFY_") and k != "PYTHONDONTWRITEBYTECODE"}
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return {"wall": time.monotonic() - started, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="100,1000")
    sizes = [int(n) for n in parser.parse_args().targets.split(",")]
    rows = []
    with Lab() as lab, tempfile.TemporaryDirectory(prefix="edgeverify-fleet-") as tmp:
        edge = lab.edge()
        folder = Path(tmp)
        paths = write_targets(folder, edge, max(sizes))
        one = measure([*EDGEVERIFY, "run", paths[0], "--reports-dir", str(folder / "r1"), "--",
                       "--propagation-timeout=0", "--history=off"], folder)
        rows.append(("1 target", 1, one))
        for n in sizes:
            for label, extra in (("one process", ["-n", "1"]), ("-n 2 (2 processes)", ["-n", "2"])):
                run = measure([*EDGEVERIFY, "run", *paths[:n], *extra, "--reports-dir", str(folder / f"r{n}{label[:3]}"),
                               "--", "--propagation-timeout=0", "--history=off"], folder)
                rows.append((label, n, run))
                report = folder / f"r{n}{label[:3]}" / "summary.md"
                run["summary"] = report.read_text().splitlines()[0] if report.exists() else "(no summary)"
    base = rows[0][2]["wall"]
    print("| mode | targets | exit | wall s | x one target | s per target | CPU s | peak RSS MB | summary |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, n, r in rows:
        print(f"| {label} | {n} | {r['exit']} | {r['wall']:.2f} | {r['wall'] / base:.1f} | {r['wall'] / n:.3f} | "
              f"{r['cpu']:.2f} | {r['rss_mb']:.0f} | {r.get('summary', '')} |")


if __name__ == "__main__":
    main()
