"""`edgeverify run TARGET... [-- PYTEST-ARGS]`: the front door.

Targets run in this process (pytest.main on the packaged suites, the user's own pytest configuration left
out): one target writes its reports into the reports folder, several write `<reports-dir>/<domain>/` each
and one combined summary. `-n N` spreads the targets over N processes instead (each a share of them in one
session); from SPREAD_FROM targets that is the default, a process per core.
Exit codes: 0 all passed, 1 a check failed, 2 interrupted, 4 bad input.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
import time
import typing
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import EdgeverifyError
from .model import ExitCode, fleet_exit_status
from .redact import redact
from .reports import tool_version

RUN_INI = Path(__file__).with_name("run.ini")
# From this many targets a process per core is the faster (tests/benchmark_fleet.py, 2 cores: 100 targets 5.8 s
# over 2 processes against 6.7 s in one, 1,000 targets 61 s against 72 s); below it one process's start-up wins.
SPREAD_FROM = 50


class UsageError(Exception):
    """A bad option or argument on the command line: exit 4 (bad input), never argparse's 2."""


class Parser(argparse.ArgumentParser):
    """argparse that says which command was used and exits 4 on a bad option, with a did-you-mean."""

    def error(self, message: str) -> typing.NoReturn:
        if message.startswith("unrecognized arguments:"):
            given = message.split(":", 1)[1].split()
            known = [s for a in self._actions for s in a.option_strings]
            for a in self._actions:  # the subcommands' options too (the top parser reports them)
                for sub in (a.choices or {}).values() if isinstance(a, argparse._SubParsersAction) else ():
                    known += [s for b in sub._actions for s in b.option_strings]
            hints = []
            for word in given:
                close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.6)
                if close:
                    hints.append(f"did you mean {close[0]} (for {word})?")
            pytest_hint = (" Options of pytest go after --, e.g. `edgeverify run t.yaml -- -x`."
                           if self.prog == "edgeverify run" else "")
            message = f"{message}; {' '.join(hints) or 'see --help.'}{pytest_hint}"
        raise UsageError(f"{self.prog}: {message}")


@dataclass(frozen=True, slots=True)
class RunOption:
    """One option of `edgeverify run`: its flags, its environment variable, and where it goes."""

    flags: tuple[str, ...]
    dest: str
    env: str
    help: str
    kind: Literal["value", "flag", "list"] = "value"
    metavar: str | None = None
    pytest: str | None = None  # the plugin's flag it is passed on as (None: the front door uses it itself)
    choices: tuple[str, ...] | None = None


# Every option of a run, in --help order. The README's run options table is made from it (run_options_markdown).
RUN_OPTIONS: tuple[RunOption, ...] = (
    RunOption(("--suite",), "suite", "EDGEVERIFY_SUITE", "run only this suite (repeatable; env: comma-separated)",
              "list", "SUITE"),
    RunOption(("--rule",), "rule", "EDGEVERIFY_RULE", "run only this rule id, e.g. cache.api_never_hit (repeatable)",
              "list", "ID"),
    RunOption(("--reports-dir",), "reports_dir", "EDGEVERIFY_REPORTS_DIR", "where reports go (default: reports)",
              metavar="DIR"),
    RunOption(("--shard",), "shard", "EDGEVERIFY_SHARD", "run only the K-th of N shares of the targets",
              metavar="K/N"),
    RunOption(("-n", "--workers"), "workers", "EDGEVERIFY_WORKERS",
              "spread the targets over N processes (default: one per core from 50 targets, else all in this one "
              "process, over one transfer loop); -n 1: one process", metavar="N"),
    RunOption(("--connect-to",), "connect_to", "EDGEVERIFY_CONNECT_TO",
              "like curl --connect-to: test a distribution before DNS points at it (repeatable; env: space-separated)",
              "list", "HOST:PORT:ADDR:PORT", pytest="--connect-to"),
    RunOption(("--ca-bundle",), "ca_bundle", "EDGEVERIFY_CA_BUNDLE",
              "CA bundle that must verify the edge's certificate", metavar="PEM", pytest="--ca-bundle"),
    RunOption(("--http1.1",), "http11", "EDGEVERIFY_HTTP1_1", "speak HTTP/1.1 only, not offering HTTP/2 "
              "(also EDGEVERIFY_HTTP2=0)", "flag", pytest="--http1.1"),
    RunOption(("--insecure",), "insecure", "EDGEVERIFY_INSECURE",
              "turn TLS verification OFF (reported loudly); certificate checks will fail", "flag",
              pytest="--insecure"),
    RunOption(("--propagation-timeout",), "propagation_timeout", "EDGEVERIFY_PROPAGATION_TIMEOUT",
              "retry failing checks until this many seconds after the run starts (0: check once)",
              metavar="SECONDS", pytest="--propagation-timeout"),
    RunOption(("--run-timeout",), "run_timeout", "EDGEVERIFY_RUN_TIMEOUT",
              "end the whole run after this many seconds; checks still running end unjudged",
              metavar="SECONDS", pytest="--run-timeout"),
    RunOption(("--strict-advisories",), "strict_advisories", "EDGEVERIFY_STRICT_ADVISORIES",
              "advisory findings fail the run", "flag", pytest="--strict-advisories"),
    RunOption(("--history",), "history", "EDGEVERIFY_HISTORY", "run history: sqlite:///PATH, postgresql://... or "
              "off (default: REPORTS-DIR/history.sqlite)", metavar="URL", pytest="--history"),
    RunOption(("--known-issues",), "known_issues", "EDGEVERIFY_KNOWN_ISSUES",
              "YAML of accepted failures (rule, item pattern, reason, owner, expires)", metavar="FILE",
              pytest="--known-issues"),
    RunOption(("--fail-on",), "fail_on", "EDGEVERIFY_FAIL_ON", "any (default) or new: fail only on failures new "
              "since the last run (and expired known issues)", choices=("any", "new"), pytest="--fail-on"),
    RunOption(("--metrics",), "metrics", "EDGEVERIFY_METRICS", "also send the run's metrics: a Prometheus "
              "textfile (*.prom), a Pushgateway (pushgateway+http://HOST:PORT), cloudwatch:NAMESPACE, "
              "emf:FILE, or otlp+http://HOST:PORT (repeatable; env: space-separated)", "list", "SINK"),
    RunOption(("--notify",), "notify", "EDGEVERIFY_NOTIFY", "an apprise URL (Slack, Teams, SNS, mailto, json://...) "
              "told of new failures, expired known issues and recoveries (repeatable; env: space-separated)",
              "list", "URL"),
    RunOption(("--notify-on",), "notify_on", "EDGEVERIFY_NOTIFY_ON",
              "which changes notify: a comma-separated subset of new,expired,recovered (default: all three)",
              metavar="EVENTS"),
    RunOption(("--report-url",), "report_url", "EDGEVERIFY_REPORT_URL",
              "where the reports can be read, put in notifications (default in GitHub Actions: the workflow "
              "run's page)", metavar="URL"),
)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def parser() -> Parser:
    p = Parser(
        prog="edgeverify run",
        description="Run every suite against one or more targets. Every option also reads its environment "
                    "variable (shown in brackets); the command line wins. Arguments after -- go to pytest.",
        epilog="exit codes: 0 all passed, 1 a check failed, 2 interrupted, 4 bad input")
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="target YAML files (targets/*.yaml) [EDGEVERIFY_TARGET: space-separated]")
    for opt in RUN_OPTIONS:
        extra: dict[str, Any] = {"dest": opt.dest, "help": f"{opt.help} [{opt.env}]"}
        if opt.kind == "flag":
            p.add_argument(*opt.flags, action="store_true", default=None, **extra)
            continue
        if opt.choices:
            extra["choices"] = opt.choices
        p.add_argument(*opt.flags, action="append" if opt.kind == "list" else "store", metavar=opt.metavar,
                       default=None, **extra)
    p.add_argument("--version", action="version", version=tool_version())
    return p


def parse(argv: list[str], environ: Mapping[str, str] | None = None) -> argparse.Namespace:
    """The run's options: the command line over EDGEVERIFY_* variables over the defaults; UsageError if bad."""
    env = os.environ if environ is None else environ
    args = parser().parse_args(argv)
    for opt in RUN_OPTIONS:
        if getattr(args, opt.dest) is not None or not env.get(opt.env, "").strip():
            continue
        raw = env[opt.env].strip()
        if opt.kind == "flag":
            if raw.lower() not in _TRUE + _FALSE:
                raise UsageError(f"edgeverify run: {opt.env}={raw!r}: give 1 or 0 (true or false).")
            value: Any = raw.lower() in _TRUE
        elif opt.kind == "list":
            value = [v for v in (raw.split(",") if opt.dest in ("suite", "rule", "notify_on") else raw.split()) if v]
        else:
            value = raw
        if opt.choices and value not in opt.choices:
            raise UsageError(f"edgeverify run: {opt.env}={raw!r}: give one of {', '.join(opt.choices)}.")
        setattr(args, opt.dest, value)
    if not args.report_url and env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):  # in GitHub Actions
        args.report_url = (f"{env.get('GITHUB_SERVER_URL') or 'https://github.com'}/{env['GITHUB_REPOSITORY']}"
                           f"/actions/runs/{env['GITHUB_RUN_ID']}")
    if env.get("EDGEVERIFY_HTTP2", "").strip() == "0" and not args.http11:
        args.http11 = True
    if not args.targets and env.get("EDGEVERIFY_TARGET", "").strip():
        args.targets = env["EDGEVERIFY_TARGET"].split()
    if not args.targets:
        raise UsageError("edgeverify run: give at least one target file: edgeverify run targets/site.yaml "
                         "(or set EDGEVERIFY_TARGET).")
    args.suite, args.rule = args.suite or [], args.rule or []
    args.reports_dir = args.reports_dir or "reports"
    try:
        args.workers = int(args.workers or 0)
        if args.workers < 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"edgeverify run: -n {args.workers!r}: give a number of processes (1 or more).") from None
    from .notify import parse_events

    try:
        args.notify_on = parse_events(args.notify_on)
    except ValueError as exc:
        raise UsageError(f"edgeverify run: --notify-on: {exc}") from None
    return args


def _forwarded(args: argparse.Namespace) -> list[str]:
    """The plugin's options, as pytest reads them, from the front door's."""
    out = []
    for opt in RUN_OPTIONS:
        value = getattr(args, opt.dest)
        if opt.pytest is None or value in (None, False, []):
            continue
        if opt.kind == "flag":
            out.append(opt.pytest)
        else:
            out += [f"{opt.pytest}={v}" for v in (value if opt.kind == "list" else [value])]
    return out


def run_options_markdown() -> str:
    """The README's table of run options (tests/unit/test_run_options.py keeps the README equal to it)."""
    rows = ["| option | environment | what it does |", "|---|---|---|"]
    for opt in RUN_OPTIONS:
        flag = " / ".join(f"`{f}{' ' + opt.metavar if opt.metavar else ''}`" for f in opt.flags)
        rows.append(f"| {flag} | `{opt.env}` | {opt.help.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    own, _, passthrough = _split(argv)
    try:
        args = parse(own)
    except UsageError as exc:
        print(redact(str(exc)), file=sys.stderr)
        return ExitCode.USAGE
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
        if not Path(path).is_file():
            print(f"edgeverify run: target file {path}: not found (give target YAML files, e.g. "
                  "edgeverify run targets/site.yaml).", file=sys.stderr)
            return ExitCode.USAGE
        try:
            domain = load_target(path).domain
        except EdgeverifyError as exc:
            print(f"edgeverify run: {redact(str(exc))}", file=sys.stderr)
            return ExitCode.USAGE
        if domain in seen:
            print(f"edgeverify run: {path}: domain {domain} is already the target of {seen[domain]}; each domain is "
                  "verified once per run", file=sys.stderr)
            return ExitCode.USAGE
        seen[domain] = path
    if not targets:
        print(f"edgeverify run: shard {args.shard} holds no target", file=sys.stderr)
        return ExitCode.OK
    selection = _selection(args) + _forwarded(args) + passthrough
    workers = args.workers or ((os.cpu_count() or 1) if len(targets) >= SPREAD_FROM else 1)
    if workers > 1 and len(targets) > 1:
        code = _spread(targets, args.reports_dir, selection, min(workers, len(targets)))
    else:
        import pytest

        code = _exit(int(pytest.main(pytest_args(targets, args.reports_dir, selection))))
    if code != ExitCode.USAGE and (args.metrics or args.notify):
        _after(args, list(seen), len(targets))
    return code


def _after(args: argparse.Namespace, domains: list[str], count: int) -> None:
    """--metrics and --notify from the reports the run wrote; a sink that fails warns and changes no verdict."""
    from .reports import JSON_NAME, read_report

    root = Path(args.reports_dir)
    paths = [root / JSON_NAME] if count == 1 else [root / d / JSON_NAME for d in domains]
    results = [read_report(p) for p in paths if p.exists()]
    if not results:
        return
    if args.metrics:
        from .metrics import emit

        for problem in emit(results, args.metrics):
            print(f"edgeverify run: WARNING: --metrics: {redact(problem)}", file=sys.stderr)
    if args.notify:
        from .notify import notify

        for line in notify(results, args.notify, events=args.notify_on, report_url=args.report_url):
            print(f"edgeverify run: {redact(line)}", file=sys.stderr)


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


def _unreported(target: str, domain: str, why: str, started: float) -> Any:
    """A target whose process wrote no report: a run with no check, ended early (model.exit_status: interrupted)."""
    from .model import RunResult
    from .reports import tool_version

    now = time.time()
    return RunResult(domain=domain, target=str(Path(target).resolve()), target_name=Path(target).stem,
                     tool=tool_version(), started_at=now - (time.monotonic() - started), finished_at=now, checks=(),
                     interrupted=why)


REPORT_GRACE_S = 20.0  # after Ctrl-C, how long -n waits for its processes to write their targets' reports


def _await_reports(futures: list[Future[int]], deadline: float) -> None:
    """Wait (until `deadline`) for interrupted processes to end: they write their reports as they end. A second
    signal (a repeated Ctrl-C, `edgeverify lab run` passing it on) does not cut the wait short, or the combined
    reports would be read before the targets' own and disagree with them."""
    for future in futures:
        while not future.done() and (left := deadline - time.monotonic()) > 0:
            try:
                future.result(timeout=left)
            except KeyboardInterrupt:
                continue
            except Exception:  # noqa: BLE001 - a process that could not run: its target is shown unreported
                break


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

    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(one, k) for k in range(workers)]
    try:
        codes = [f.result() for f in futures]
    except KeyboardInterrupt:  # the children got the same Ctrl-C: they end their checks and write their reports
        _await_reports(futures, time.monotonic() + REPORT_GRACE_S)
        # each process's own status where it ended (a bad target is still bad input), else interrupted
        codes = [f.result() if f.done() and f.exception() is None else ExitCode.INTERRUPTED for f in futures]
    finally:
        pool.shutdown(wait=False)
    if ExitCode.USAGE in codes:
        print((root / f"output-{codes.index(ExitCode.USAGE) + 1}.txt").read_text()[-5000:], file=sys.stderr)
        return ExitCode.USAGE
    from .target import load_target

    results = []
    for i, t in enumerate(targets):
        domain = load_target(t).domain
        path = root / domain / "edgeverify.json"
        if path.exists():
            results.append(read_report(path))
        else:  # never judged: shown as ended early in every output (never as passed, never left out)
            k = i % workers
            why = ("interrupted before its report was written" if codes[k] == ExitCode.INTERRUPTED else
                   f"its process ended (exit {int(codes[k])}) without a report: see output-{k + 1}.txt")
            results.append(_unreported(t, domain, why, started))
    for line in terminal_run(results):
        print(line)
    for report in write_combined(results, root):
        print(f"edgeverify report: {report}")
    print(f"edgeverify: {len(targets)} targets in {time.monotonic() - started:.1f} s over {workers} processes")
    return int(fleet_exit_status([*codes, *(r.exit_status for r in results)]))
