"""`edgeverify run TARGET... [-- PYTEST-ARGS]`: the front door.

Targets run in this process (pytest.main on the packaged suites, the user's own pytest configuration left
out): one target writes its reports into the reports folder, several write `<reports-dir>/<domain>/` each
and one combined summary. `-n N` spreads the targets over N processes instead (each a share of them in one
session); from SPREAD_FROM targets that is the default, a process per core.
Exit codes: 0 all passed, 1 a check failed, 2 interrupted, 4 bad input.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import EdgeverifyError
from .model import ExitCode, fleet_exit_status
from .redact import redact

RUN_INI = Path(__file__).with_name("run.ini")
# From this many targets a process per core is the faster (tests/benchmark_fleet.py, 2 cores: 100 targets 5.8 s
# over 2 processes against 6.7 s in one, 1,000 targets 61 s against 72 s); below it one process's start-up wins.
SPREAD_FROM = 50


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edgeverify run",
        description="Run every suite against one or more targets. Arguments after -- go to pytest.",
        epilog="exit codes: 0 all passed, 1 a check failed, 2 interrupted, 4 bad input")
    p.add_argument("targets", nargs="+", metavar="TARGET", help="target YAML files (targets/*.yaml)")
    p.add_argument("--suite", action="append", default=[], help="run only this suite (repeatable)")
    p.add_argument("--rule", action="append", default=[], help="run only this rule id, e.g. cache.api_never_hit")
    p.add_argument("--reports-dir", default="reports", help="where reports go (default: reports)")
    p.add_argument("--shard", default=None, metavar="K/N", help="run only the K-th of N shares of the targets")
    p.add_argument("-n", dest="workers", type=int, default=0, metavar="N",
                   help=f"spread the targets over N processes (default: one per core from {SPREAD_FROM} targets, "
                        "else all in this one process, over one transfer loop); -n 1: one process")
    return p


def main(argv: list[str]) -> int:
    own, _, passthrough = _split(argv)
    args = parser().parse_args(own)
    from .target import load_target

    targets = list(dict.fromkeys(args.targets))
    if args.shard:
        from .fleet import shard

        try:
            targets = shard(targets, args.shard)
        except EdgeverifyError as exc:
            print(f"edgeverify run: {exc}", file=sys.stderr)
            return ExitCode.USAGE
    seen: dict[str, str] = {}
    for path in targets:  # every target is validated before anything runs
        try:
            domain = load_target(path).domain
        except EdgeverifyError as exc:
            print(f"edgeverify: {redact(str(exc))}", file=sys.stderr)
            return ExitCode.USAGE
        if domain in seen:
            print(f"edgeverify: {path}: domain {domain} is already the target of {seen[domain]}; each domain is "
                  "verified once per run", file=sys.stderr)
            return ExitCode.USAGE
        seen[domain] = path
    if not targets:
        print(f"edgeverify run: shard {args.shard} holds no target", file=sys.stderr)
        return ExitCode.OK
    selection = _selection(args) + passthrough
    workers = args.workers or ((os.cpu_count() or 1) if len(targets) >= SPREAD_FROM else 1)
    if workers > 1 and len(targets) > 1:
        return _spread(targets, args.reports_dir, selection, min(workers, len(targets)))
    import pytest

    return _exit(int(pytest.main(pytest_args(targets, args.reports_dir, selection))))


def _split(argv: list[str]) -> tuple[list[str], bool, list[str]]:
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], True, argv[at + 1:]
    return argv, False, []


def _selection(args: argparse.Namespace) -> list[str]:
    out = []
    if args.suite:
        out += ["-m", " or ".join(args.suite)]
    if args.rule:
        out += ["-k", " or ".join(args.rule)]
    return out


def pytest_args(targets: list[str], reports_dir: str, extra: list[str]) -> list[str]:
    """The pytest command line for the targets: the packaged suites only, whatever the working directory holds."""
    from .options import suites_dir

    suites = suites_dir()
    # --assert=plain: the checks raise their own failures, and edgeverify is already imported here, so pytest
    # could not rewrite it anyway (it would warn); it also spares re-parsing the package at every start.
    # Plugins a run has no use for cost start-up: the checks log nothing (logging), targets are spread by -n here,
    # not by pytest-xdist, and the project's own test tools (hypothesis) are no part of a run.
    return ["-c", str(RUN_INI), "--rootdir", str(suites), "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
            "-p", "no:logging", "-p", "no:xdist", "-p", "no:xdist.looponfail",
            "--assert=plain", *(["-q"] if len(targets) > 1 else []),  # a fleet: no line per suite file per target
            *[f"--target={os.path.abspath(t)}" for t in targets],
            f"--reports-dir={os.path.abspath(reports_dir)}", *extra]


def _exit(code: int) -> int:
    """pytest's exit code as edgeverify's: 0 passed, 1 failed, 2 interrupted, 4 bad input (5, 3 included)."""
    if code in (ExitCode.OK, ExitCode.FAILED, ExitCode.INTERRUPTED):
        return code
    return ExitCode.USAGE if code in (4, 5) else ExitCode.FAILED


def _spread(targets: list[str], reports_dir: str, extra: list[str], workers: int) -> int:
    """-n N: N processes, each judging a share of the targets in one session; then the combined reports."""
    from .reports import read_report, terminal_run, write_combined

    root = Path(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    shares = [targets[k::workers] for k in range(workers)]

    def one(k: int) -> int:
        with open(root / f"output-{k + 1}.txt", "w") as out:
            proc = subprocess.run([sys.executable, "-m", "pytest", "--fleet-part",
                                   *pytest_args(shares[k], reports_dir, extra)],
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return _exit(proc.returncode)

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            codes = list(pool.map(one, range(workers)))
    except KeyboardInterrupt:  # the children got the same Ctrl-C and wrote their reports
        codes = [ExitCode.INTERRUPTED]
    if ExitCode.USAGE in codes:
        print((root / f"output-{codes.index(ExitCode.USAGE) + 1}.txt").read_text()[-5000:], file=sys.stderr)
        return ExitCode.USAGE
    from .target import load_target

    found = [root / load_target(t).domain / "edgeverify.json" for t in targets]
    results = [read_report(path) for path in found if path.exists()]
    for line in terminal_run(results):
        print(line)
    for report in write_combined(results, root):
        print(f"edgeverify report: {report}")
    print(f"edgeverify: {len(targets)} targets in {time.monotonic() - started:.1f} s over {workers} processes")
    return int(fleet_exit_status([*codes, *(r.exit_status for r in results)]))
