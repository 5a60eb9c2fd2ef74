"""`edgeverify run TARGET... [-- PYTEST-ARGS]`: the front door.

One target runs in this process (pytest.main on the packaged suites, the user's own pytest
configuration left out); several run as parallel processes sharing the machine, each writing
`<reports-dir>/<domain>/`, then one combined summary. Exit codes: 0 all passed, 1 a check failed,
2 interrupted, 4 bad input.
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
from .redact import redact

from .model import ExitCode, fleet_exit_status

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE = ExitCode.OK, ExitCode.FAILED, ExitCode.INTERRUPTED, ExitCode.USAGE
RUN_INI = Path(__file__).with_name("run.ini")


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
    p.add_argument("--jobs", type=int, default=None, help="targets run at once (default: twice the cores)")
    p.add_argument("-n", dest="workers", default=None,
                   help="pytest-xdist workers per target (default: none; checks already run concurrently)")
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
            return EXIT_USAGE
    domains = {}
    for path in targets:  # every target is validated before anything runs
        try:
            domains[path] = load_target(path).domain
        except EdgeverifyError as exc:
            print(f"edgeverify: {redact(str(exc))}", file=sys.stderr)
            return EXIT_USAGE
    if not targets:
        print(f"edgeverify run: shard {args.shard} holds no target", file=sys.stderr)
        return EXIT_OK
    selection = _selection(args)
    if len(targets) == 1:
        return _single(targets[0], args.reports_dir, selection + passthrough)
    return _many(targets, domains, args, selection + passthrough)


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
    if args.workers:
        out += ["-n", str(args.workers)]
    return out


def pytest_args(target: str, reports_dir: str, extra: list[str]) -> list[str]:
    """The pytest command line for one target: the packaged suites only, whatever the working directory holds."""
    from .plugin import suites_dir

    suites = suites_dir()
    # --assert=plain: the checks raise their own failures, and edgeverify is already imported here, so pytest
    # could not rewrite it anyway (it would warn); it also spares re-parsing the package at every start.
    return ["-c", str(RUN_INI), "--rootdir", str(suites), "-p", "no:cacheprovider", "--assert=plain",
            f"--target={os.path.abspath(target)}", f"--reports-dir={os.path.abspath(reports_dir)}", *extra]


def _single(target: str, reports_dir: str, extra: list[str]) -> int:
    import pytest

    code = int(pytest.main(pytest_args(target, reports_dir, extra)))
    return _exit(code)


def _exit(code: int) -> int:
    """pytest's exit code as edgeverify's: 0 passed, 1 failed, 2 interrupted, 4 bad input (5, 3 included)."""
    if code in (EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED):
        return code
    return EXIT_USAGE if code in (4, 5) else EXIT_FAILED


def _many(targets: list[str], domains: dict[str, str], args: argparse.Namespace, extra: list[str]) -> int:
    root = Path(args.reports_dir)
    jobs = args.jobs or min(len(targets), 2 * (os.cpu_count() or 1))
    started = time.monotonic()

    def one(path: str) -> tuple[str, int]:
        folder = root / domains[path]
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "output.txt", "w") as out:
            proc = subprocess.run([sys.executable, "-m", "pytest", *pytest_args(path, str(folder), extra)],
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        code = ExitCode(_exit(proc.returncode))
        mark = {EXIT_OK: "passed", EXIT_FAILED: "FAILED", EXIT_INTERRUPTED: "interrupted"}.get(code, "bad input")
        print(f"edgeverify: {domains[path]} ({path}): {mark}; report {folder / 'summary.md'}", flush=True)
        return path, code

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = dict(pool.map(one, targets))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    for path, code in results.items():  # the failures in full, after the one-line verdicts
        if code != EXIT_OK:
            print(f"\n===== {domains[path]} ({path}) =====")
            print((root / domains[path] / "output.txt").read_text()[-20000:])
    written = _combined(root, [domains[p] for p in targets])
    for report in written:
        print(f"edgeverify report: {report}")
    print(f"edgeverify: {len(targets)} targets in {time.monotonic() - started:.1f} s")
    return int(fleet_exit_status(results.values()))


def _combined(root: Path, domains: list[str]) -> list[Path]:
    from .fleet import write_fleet
    from .reports import read_report, to_json

    docs = []
    for domain in domains:
        report = root / domain / "edgeverify.json"
        if report.exists():
            docs.append(to_json(read_report(report)))
    written: list[Path] = write_fleet(docs, root)
    return written
