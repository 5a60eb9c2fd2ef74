"""Benchmark: peak memory of a whole run against an edge whose bodies never end or explode. Figures are printed.

Each row is a whole edgeverify run (a pytest session in a subprocess: start-up, every suite, every report
written) against one hostile edge on loopback (tests/hostile/servers.py, served by another process): a body
without end, or a gzip bomb (50 MB of zeros in ~50 KB). The peak RSS is the kernel's (wait4: the largest process
of the run's tree). The process that starts the runs stays small: a child's peak counts the parent's RSS at the
fork, which is why the servers run elsewhere. The bound is issue 18's: at most 150 MB at the default
max_body_bytes, 2 x max_body_bytes + 100 MB at any other (shown for the default too).

Run: .venv/bin/python tests/benchmark_memory.py [--sizes default,20000000] [--cases endless-body,gzip-bomb]
     [--root CHECKOUT]  (another checkout's edgeverify and suites, e.g. an older commit's `git archive`)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MAX_BODY = 10_000_000  # Target.max_body_bytes when the target file does not set it
TARGET = """\
domain: www.example.test
connect_to: {connect_to}
ca_bundle: {ca}
timeouts: {{connect: 2, read: 2, total: 10, run: 90}}
{max_body}api:
  calls:
    - {{name: health, method: GET, path: /api/health}}
spa:
  deep_links: [/account]
propagation: {{timeout: 0}}
"""
RUN_TIMEOUT_S = 180  # a run that has not ended by then is killed (and reported as such)
MB = 1024 * 1024


def bound_mb(max_body_bytes: int | None) -> float:
    """Issue 18's bound on a run's peak RSS, in MB (MiB, as ru_maxrss counts): 150 at the default max_body_bytes,
    else 2 x max_body_bytes + 100."""
    return 150.0 if max_body_bytes is None else twice_plus_100(max_body_bytes)


def twice_plus_100(max_body_bytes: int | None) -> float:
    """2 x max_body_bytes + 100 MB, in MB."""
    return 2 * (DEFAULT_MAX_BODY if max_body_bytes is None else max_body_bytes) / MB + 100


def serve(case: str, folder: Path) -> None:
    """In the server process: the hostile edge until stdin closes; its connect_to and CA bundle on stdout."""
    sys.path.insert(0, str(ROOT / "tests" / "hostile"))
    from servers import hostile

    with hostile(case, folder) as (connect_to, ca):
        print(json.dumps({"connect_to": connect_to, "ca": str(ca)}), flush=True)
        sys.stdin.read()


def peak_rss(case: str, max_body_bytes: int | None, folder: Path, root: Path = ROOT) -> dict[str, float]:
    """One whole run against a `case` edge: exit status, wall seconds and peak RSS (MB) of its process tree."""
    server = subprocess.Popen([sys.executable, __file__, "--serve", case, str(folder)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        edge = json.loads(server.stdout.readline())
        target = folder / "hostile.yaml"
        max_body = "" if max_body_bytes is None else f"max_body_bytes: {max_body_bytes}\n"
        target.write_text(TARGET.format(connect_to=json.dumps(edge["connect_to"]), ca=edge["ca"], max_body=max_body))
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-W", "ignore", f"--target={target}",
               f"--reports-dir={folder / 'reports'}", "--propagation-timeout=0", str(root / "suites")]
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEVERIFY_")}
        if root != ROOT:
            env["PYTHONPATH"] = str(root)
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        killer = threading.Timer(RUN_TIMEOUT_S, _kill, (proc.pid,))  # a run that hangs ends here
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # its usage: the kernel's peak RSS of the process tree
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        server.communicate(timeout=30)  # stdin closed: the servers stop
    return {"exit": proc.returncode, "wall": time.monotonic() - started, "rss_mb": usage.ru_maxrss / 1024}


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # its own session: the run and anything it started
    except ProcessLookupError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="default,20000000", help="max_body_bytes values ('default': not set)")
    parser.add_argument("--cases", default="endless-body,gzip-bomb")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose edgeverify and suites run")
    parser.add_argument("--json", action="store_true", help="one JSON line per run instead of the table")
    parser.add_argument("--serve", nargs=2, metavar=("CASE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]))
        return
    sizes = [None if s == "default" else int(s) for s in args.sizes.split(",")]
    rows = []
    for case in args.cases.split(","):
        for size in sizes:
            with tempfile.TemporaryDirectory(prefix="edgeverify-memory-") as tmp:
                rows.append((case, size, peak_rss(case, size, Path(tmp), args.root.resolve())))
    if args.json:
        for case, size, r in rows:
            print(json.dumps({"case": case, "max_body_bytes": size, "bound_mb": bound_mb(size), **r}))
        return
    print("| case | max_body_bytes | exit | wall s | peak RSS MB | bound MB | within bound | 2 x max_body + 100 MB |")
    print("|---|---|---|---|---|---|---|---|")
    for case, size, r in rows:
        bound, twice = bound_mb(size), twice_plus_100(size)
        shown = f"{DEFAULT_MAX_BODY:,} (default)" if size is None else f"{size:,}"
        print(f"| {case} | {shown} | {r['exit']} | {r['wall']:.1f} | {r['rss_mb']:.0f} | {bound:.0f} | "
              f"{'yes' if r['rss_mb'] <= bound else 'NO'} | {twice:.0f} ({'yes' if r['rss_mb'] <= twice else 'NO'}) |")

if __name__ == "__main__":
    main()
