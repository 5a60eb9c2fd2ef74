"""The pytest plugin: options, collection, the engine's verdicts turned into test outcomes, reports.

It holds no HTTP logic (client.py, evidence.py), no scheduling (engine.py) and no rules (rules/).
"""

from __future__ import annotations

import gc
import os
import signal
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import reports
from .client import EdgeClient
from .engine import Check, Engine, Verdict
from .errors import CouldNotJudge, EdgeverifyError, TargetError
from .evidence import Attempt, Ledger, Run
from .exchange import Exchange
from .redact import redact
from .release import entry_snapshot, snapshot_exchange
from .rules import RULES, Violation
from .target import RANGES, Target, check_connect_to, load_target, validate_seconds

SUITES = ("static", "api", "cache", "cors", "https", "spa", "propagation", "config", "edges")
# Arguments the engine can supply to a check without pytest's fixtures.
ENGINE_ARGS = frozenset({"edge", "target"})
_TARGET = pytest.StashKey[Target]()
_DEADLINE = pytest.StashKey[float]()  # time.monotonic() after which failing checks are not retried
_RUN_DEADLINE = pytest.StashKey[float]()  # time.monotonic() after which nothing runs
_RECORDS = pytest.StashKey[dict[str, dict[str, Any]]]()  # check id -> record (controller)
_TABLE = pytest.StashKey[dict[str, dict[str, Any]]]()  # exchange ref -> exchange record (controller)
_ENGINE = pytest.StashKey[Engine]()
_ENTRY = pytest.StashKey[dict[str, Any] | None]()  # the entry document, fetched once per run
_LEDGER = pytest.StashKey[str]()
_STARTED = pytest.StashKey[float]()  # time.time() at configure
_REPORT_PATHS = pytest.StashKey[list[Path]]()
_VERDICT = pytest.StashKey[Verdict]()
_CHECK_ID = pytest.StashKey[str]()
_ADVISORY = pytest.StashKey[str]()
_ATTEMPT = pytest.StashKey[Attempt]()
_TIMER = pytest.StashKey[threading.Timer]()
_KNOWN = pytest.StashKey[Any]()
_DEADLINE_HIT = pytest.StashKey[bool]()
INSECURE_WARNING = ("edgeverify: WARNING: TLS VERIFICATION IS OFF (--insecure / insecure: true). "
                    "Certificates are not checked; do not trust a pass.")
_config: pytest.Config | None = None  # logreport hooks get no config; set at session start
_shipped: dict[str, bool] = {}  # exchange refs already sent to the controller by this process: whether in full
_counter = iter(range(1, 1 << 62))


def suites_dir() -> Path:
    """The suites shipped with the package (the repository's suites/ in a clone)."""
    import edgeverify.suites

    return Path(next(iter(edgeverify.suites.__path__)))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("edgeverify", "edgeverify: verify a CDN-fronted domain")
    group.addoption("--target", default=os.environ.get("EDGEVERIFY_TARGET"), metavar="FILE",
                    help="target YAML describing the domain (env EDGEVERIFY_TARGET); runs the packaged suites")
    group.addoption("--connect-to", action="append", default=None, metavar="HOST:PORT:ADDR:PORT",
                    help="like curl --connect-to; repeatable; replaces the target's connect_to "
                         "(env EDGEVERIFY_CONNECT_TO, space-separated)")
    group.addoption("--ca-bundle", default=os.environ.get("EDGEVERIFY_CA_BUNDLE"), metavar="PEM",
                    help="CA bundle that must verify the edge's certificate (env EDGEVERIFY_CA_BUNDLE)")
    group.addoption("--http1.1", dest="http11", action="store_true", default=os.environ.get("EDGEVERIFY_HTTP2") == "0",
                    help="speak HTTP/1.1 only, not offering HTTP/2 (target key http2: false; env EDGEVERIFY_HTTP2=0)")
    group.addoption("--insecure", action="store_true", default=False,
                    help="turn TLS verification OFF (reported loudly); certificate checks will fail")
    group.addoption("--propagation-timeout", default=None, metavar="SECONDS",
                    help="retry failing checks until this many seconds after the run starts")
    group.addoption("--run-timeout", default=None, metavar="SECONDS",
                    help="end the whole run after this many seconds (default: timeouts.run, or the propagation "
                         "deadline plus 120 s); checks still running end as errors, reports are written")
    group.addoption("--reports-dir", default="reports", metavar="DIR",
                    help="where junit.xml, edgeverify.json, summary.md and report.html are written (default: reports)")
    group.addoption("--strict-advisories", action="store_true", default=False,
                    help="advisory findings fail the run (pytest already owns --strict)")
    group.addoption("--history", default=os.environ.get("EDGEVERIFY_HISTORY"), metavar="URL",
                    help="run history: sqlite:///PATH or postgresql://... (env EDGEVERIFY_HISTORY; default "
                         "REPORTS-DIR/history.sqlite; 'off' records nothing)")
    group.addoption("--known-issues", default=None, metavar="FILE",
                    help="YAML of accepted failures (rule, item pattern, reason, owner, expires)")
    group.addoption("--fail-on", default="any", choices=("any", "new"),
                    help="'new': fail only on failures new since the last run (and expired acceptances)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for suite in SUITES:
        config.addinivalue_line("markers", f"{suite}: the {suite} suite")
    config.addinivalue_line("markers", "rule(id): the edgeverify rule a check enforces (adds its suite marker)")
    config.addinivalue_line("markers", "release_independent: the check does not wait for the release marker")
    config.stash[_RECORDS] = {}
    config.stash[_TABLE] = {}
    config.stash[_STARTED] = time.time()
    config.stash[_DEADLINE] = time.monotonic()
    path = config.getoption("target")
    if not path:
        return
    try:
        target = _load_with_overrides(config, path)
    except TargetError as exc:
        raise pytest.UsageError(redact(str(exc))) from None
    config.stash[_TARGET] = target
    known = config.getoption("known_issues")
    if known and not hasattr(config, "workerinput"):
        from .history import load_known_issues

        try:
            config.stash[_KNOWN] = load_known_issues(known)
        except TargetError as exc:
            raise pytest.UsageError(redact(str(exc))) from None
    now = time.monotonic()
    config.stash[_DEADLINE] = now + target.propagation.timeout
    config.stash[_RUN_DEADLINE] = now + _run_seconds(config, target)
    worker_input = getattr(config, "workerinput", None)
    if worker_input and "edgeverify_deadline" in worker_input:  # one deadline for the whole run
        config.stash[_DEADLINE] = now + worker_input["edgeverify_deadline"] - time.time()
        config.stash[_RUN_DEADLINE] = now + worker_input["edgeverify_run_deadline"] - time.time()
        config.stash[_ENTRY] = worker_input.get("edgeverify_entry")
        config.stash[_LEDGER] = worker_input["edgeverify_ledger"]
    else:
        config.stash[_LEDGER] = tempfile.mkdtemp(prefix="edgeverify-ledger-")
        _install_signal_handlers()
        _arm_run_deadline(config, config.stash[_RUN_DEADLINE] - now)
    if config.args_source != pytest.Config.ArgsSource.ARGS:  # no paths named: the packaged suites, nothing else
        config.args = [str(suites_dir())]
    if not worker_input and not config.option.xmlpath:
        config.option.xmlpath = str(Path(config.getoption("reports_dir")) / "junit.xml")


RUN_DEADLINE_GRACE_S = 5.0  # past timeouts.run, a run still going (a hung AWS call, say) is interrupted


def _arm_run_deadline(config: pytest.Config, seconds: float) -> None:
    """The last resort: interrupt the run (reports are still written) a little after its deadline."""
    def expire() -> None:
        config.stash[_DEADLINE_HIT] = True
        os.kill(os.getpid(), signal.SIGTERM)  # our handler: the same path as Ctrl-C, even where SIGINT is ignored

    timer = threading.Timer(seconds + RUN_DEADLINE_GRACE_S, expire)
    timer.daemon = True
    timer.start()
    config.stash[_TIMER] = timer


def _install_signal_handlers() -> None:
    """SIGTERM ends the run like Ctrl-C does: checks stop, reports are still written.

    Only the first interrupt counts: a second one (a process group's Ctrl-C passed on again by
    `edgeverify lab run`, say) must not cut the reports short while they are being written.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    interrupted = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if interrupted.is_set():
            return
        interrupted.set()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, stop)


def _seconds(config: pytest.Config, option: str, flag: str, minimum: float, maximum: float) -> float | None:
    raw = config.getoption(option)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise TargetError(f"{flag} {raw!r}: not a number of seconds.") from None
    return validate_seconds(value, flag, minimum, maximum)


def _run_seconds(config: pytest.Config, target: Target) -> float:
    explicit = _seconds(config, "run_timeout", "--run-timeout", *RANGES["timeouts.run"])
    return explicit if explicit is not None else target.run_deadline_s()


def _load_with_overrides(config: pytest.Config, path: str) -> Target:
    target = load_target(path)
    specs = config.getoption("connect_to") or os.environ.get("EDGEVERIFY_CONNECT_TO", "").split()
    checked = []
    for spec in specs:
        try:
            checked.append(check_connect_to(spec, target.domain))
        except ValueError as exc:
            raise TargetError(f"--connect-to {spec}: {exc}.") from None
    if checked:
        target.connect_to = checked
    if config.getoption("ca_bundle"):
        target.ca_bundle = config.getoption("ca_bundle")
    if target.ca_bundle and not Path(target.ca_bundle).is_file():
        raise TargetError(f"CA bundle {target.ca_bundle} (from {path} or --ca-bundle): file not found.")
    if config.getoption("insecure"):
        target.insecure = True
    if config.getoption("http11"):
        target.http2 = False
    timeout = _seconds(config, "propagation_timeout", "--propagation-timeout", *RANGES["propagation.timeout"])
    if timeout is not None:
        target.propagation.timeout = timeout
    return target


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.stash.get(_TARGET, None)
    if target is None:
        return []
    lines = [f"edgeverify: {target.domain} from {target.source}"
             + (f" via {' '.join(target.connect_to)}" if target.connect_to else "")
             + f"; propagation deadline {target.propagation.timeout:g} s"]
    if target.insecure:
        lines.append(INSECURE_WARNING)
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Items come from the target file only, so every xdist worker collects the same checks.

    Ids never carry a secret: a call's name, or its path with ${VAR} in place of any secret.
    """
    target = metafunc.config.stash.get(_TARGET, None)
    if target is None:
        return
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", target.static.pages, ids=[redact(p) for p in target.static.pages])
    if "api_call" in metafunc.fixturenames:
        metafunc.parametrize("api_call", target.api.calls, ids=[redact(c.label) for c in target.api.calls])
    if "deep_link" in metafunc.fixturenames:
        metafunc.parametrize("deep_link", target.spa.deep_links, ids=[redact(p) for p in target.spa.deep_links])


def check_id(item: pytest.Item) -> str:
    """A stable id for a check, the same wherever the suites are installed: '<suite file>::<test name>'."""
    return f"{Path(str(item.path)).name}::{item.name}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_target = False
    for item in items:
        marker = item.get_closest_marker("rule")
        if marker is not None:
            rule_id = marker.args[0]
            if rule_id not in RULES:
                raise pytest.UsageError(f"{item.nodeid}: unknown rule id '{rule_id}'")
            item.add_marker(RULES[rule_id].suite)
            item.extra_keyword_matches.add(rule_id)  # -k cache.api_never_hit, -k parity
            item.stash[_CHECK_ID] = check_id(item)
        needs_target = needs_target or "target" in getattr(item, "fixturenames", ())
    if needs_target and _TARGET not in config.stash:
        raise pytest.UsageError("edgeverify: no target. Pass --target FILE (see targets/example.yaml), "
                                "or set EDGEVERIFY_TARGET.")


def deadlines(config: pytest.Config) -> tuple[float, float]:
    """(propagation deadline, run deadline) of this run, as time.monotonic() values of this process."""
    return config.stash[_DEADLINE], config.stash[_RUN_DEADLINE]


def target_of(config: pytest.Config) -> Target:
    """The validated target, with command-line overrides applied."""
    return config.stash[_TARGET]


def edge_for(request: pytest.FixtureRequest) -> Attempt | None:
    """The check's evidence, an Attempt. The engine gives each check its own (see pytest_runtest_setup);
    a check the engine cannot run (it takes other fixtures) gets one here, and runs once."""
    if request.node.stash.get(_VERDICT, None) is not None:
        return None
    attempt = Attempt(engine_of(request.config).run)
    request.node.stash[_ATTEMPT] = attempt
    return attempt


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The validated target, with command-line overrides applied."""
    return target_of(pytestconfig)


@pytest.fixture
def edge(request: pytest.FixtureRequest) -> Attempt | None:
    """The check's evidence (an Attempt); see edge_for."""
    return edge_for(request)


# -- the engine ------------------------------------------------------------------------------------

def engine_of(config: pytest.Config) -> Engine:
    engine = config.stash.get(_ENGINE, None)
    if engine is None:
        target = config.stash[_TARGET]
        run_deadline = config.stash[_RUN_DEADLINE]
        transport = EdgeClient(target, deadline=run_deadline)
        run = Run(target, transport, Ledger(Path(config.stash[_LEDGER])))
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        quiet = hasattr(config, "workerinput") or reporter is None

        def progress(message: str) -> None:
            if not quiet and reporter is not None:
                reporter.write_line(f"edgeverify: {message}")

        engine = Engine(run, config.stash[_DEADLINE], run_deadline, progress)
        snapshot = config.stash.get(_ENTRY, None)
        if snapshot:
            engine.seed_snapshot(snapshot_exchange(snapshot))
        config.stash[_ENGINE] = engine
    return engine


def _engine_check(item: pytest.Item) -> Check | None:
    """The item as an engine check, when every argument it takes is one the engine can give."""
    if not isinstance(item, pytest.Function) or item.get_closest_marker("rule") is None:
        return None
    argnames = set(item._fixtureinfo.argnames)
    if "edge" not in argnames:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    if not argnames <= ENGINE_ARGS | set(params):
        return None
    kwargs = {name: params[name] for name in argnames if name in params}
    if "target" in argnames:
        kwargs["target"] = item.config.stash[_TARGET]
    return Check(item.stash[_CHECK_ID], item.obj, kwargs,
                 gated=item.get_closest_marker("release_independent") is None)


def _batch_mode(config: pytest.Config) -> bool:
    """One process runs every check concurrently; under xdist each worker runs its items one by one."""
    return not hasattr(config, "workerinput") and config.pluginmanager.get_plugin("dsession") is None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    config = session.config
    if (_TARGET in config.stash and _batch_mode(config) and not config.option.collectonly
            and session.items and not session.shouldfail):
        checks = [c for c in (_engine_check(item) for item in session.items) if c is not None]
        if checks:
            engine = engine_of(config)
            gc.freeze()  # what was imported and collected lives to the end: no collection walks it again
            started = time.monotonic()
            engine.run_checks(checks)
            engine.phase_s = time.monotonic() - started
            run = engine.run
            engine.progress(f"{len(checks)} checks judged {run.transport.stats.requests} responses "
                            f"({run.distinct} distinct requests, {run.transport.stats.connections} connections) "
                            f"in {time.monotonic() - started:.2f} s")
    return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A check's verdict is known before pytest sets it up: one that could not be judged is an error here."""
    config = item.config
    if _TARGET not in config.stash:
        return
    check = _engine_check(item)
    engine = engine_of(config) if check is not None else None
    if engine is None or check is None or check.id not in engine.verdicts:
        if time.monotonic() >= config.stash[_RUN_DEADLINE]:
            raise CouldNotJudge("not run: the run's deadline (timeouts.run / --run-timeout) had passed")
    if check is None or engine is None:
        return
    if check.id not in engine.verdicts:
        engine.run_checks([check])
    verdict = engine.verdicts[check.id]
    item.stash[_VERDICT] = verdict
    if verdict.status == "error":
        raise verdict.exception or CouldNotJudge("could not judge")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Replay the engine's verdict (or run a check the engine cannot, like the AWS audit, once)."""
    if pyfuncitem.get_closest_marker("rule") is None:
        return None
    verdict = pyfuncitem.stash.get(_VERDICT, None)
    try:
        if verdict is None:
            pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames})
        elif verdict.exception is not None:
            raise verdict.exception
    except Violation as exc:
        if _TARGET in pyfuncitem.config.stash:
            exc.context(pyfuncitem.config.stash[_TARGET].api.prefix)
        if exc.advisory and not pyfuncitem.config.getoption("strict_advisories"):
            pyfuncitem.stash[_ADVISORY] = exc.render()
            return True
        raise
    return True


# -- records and reports ---------------------------------------------------------------------------

def _ref(ex: Exchange) -> str:
    if not ex.ref:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "m")
        ex.ref = f"{worker}.{next(_counter)}"
    return ex.ref


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                               ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    excinfo = call.excinfo
    value = excinfo.value if excinfo is not None else None
    if isinstance(value, Violation):
        report.longrepr = value.render()
    elif isinstance(value, EdgeverifyError):
        report.longrepr = redact(f"{'ERROR (could not judge)' if isinstance(value, CouldNotJudge) else type(value).__name__}: "
                                 f"{value}")
    elif report.failed and report.longrepr is not None:  # an unexpected error: its traceback shows arguments
        report.longrepr = redact(str(report.longrepr))
    if not (call.when == "call" or report.failed or report.skipped):
        return report
    marker = item.get_closest_marker("rule")
    rule = RULES.get(marker.args[0]) if marker else None
    verdict = item.stash.get(_VERDICT, None)
    attempt = item.stash.get(_ATTEMPT, None)
    exchanges: list[Exchange] = list(verdict.exchanges) if verdict else (list(attempt.exchanges) if attempt else [])
    if isinstance(value, Violation):
        rule = value.rule
        for ex in ([value.exchange] if value.exchange else []) + value.extra:
            if all(ex is not e for e in exchanges):
                exchanges.append(ex)
    elif isinstance(value, CouldNotJudge) and isinstance(value.exchange, Exchange):
        if all(value.exchange is not e for e in exchanges):
            exchanges.append(value.exchange)
    table: dict[str, dict[str, Any]] = {}
    refs = []
    full = report.failed or item.stash.get(_ADVISORY, None) is not None  # a failure shows bodies and curl lines
    for ex in exchanges:
        ref = _ref(ex)
        refs.append(ref)
        if ref not in _shipped or (full and not _shipped[ref]):
            _shipped[ref] = full
            table[ref] = ex.to_dict(full)
    violation = value if isinstance(value, Violation) else None
    report.edgeverify = {  # type: ignore[attr-defined]
        "id": item.stash.get(_CHECK_ID, item.nodeid),
        "rule": rule.id if rule else None,
        "suite": rule.suite if rule else None,
        "summary": rule.summary if rule else None,
        "severity": rule.severity if rule else None,
        "advisory": item.stash.get(_ADVISORY, None),
        "error_kind": "could_not_judge" if isinstance(value, CouldNotJudge) else None,
        "expected": redact(violation.expected) if violation else None,
        "actual": redact(violation.actual) if violation else None,
        "cause": redact(violation.likely) if violation and violation.likely else None,
        "reproduce": redact(violation.reproduce) if violation and violation.reproduce else None,
        "attempts": verdict.attempts if verdict else (1 if call.when == "call" else 0),
        "elapsed_s": round(verdict.elapsed_s, 3) if verdict else round(call.duration, 3),
        "converged_after_s": _round(verdict.converged_after_s) if verdict else None,
        "pops": sorted({p for p in (ex.header("x-amz-cf-pop") for ex in exchanges) if p}),
        "user_properties": [[str(k), redact(str(v))] for k, v in item.user_properties],
        "gate": _gate_data(item.config),
        "exchanges": refs,
        "exchange_table": table,
    }
    return report


def _gate_data(config: pytest.Config) -> dict[str, Any] | None:
    """This process's release gate, carried in each record so that the xdist controller sees the workers'."""
    engine = config.stash.get(_ENGINE, None)
    gate = engine.gate if engine is not None else None
    if gate is None:
        return None
    return {"passed": gate.passed, "waited_s": gate.waited_s, "seen_at": gate.seen_at,
            "reason": None if gate.passed else redact(gate.reason())}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    data = getattr(report, "edgeverify", None)
    if data is None or (report.when != "call" and report.passed):
        return
    config = _config
    if config is None or hasattr(config, "workerinput"):
        return
    table = config.stash[_TABLE]
    for ref, ex in data.pop("exchange_table", {}).items():
        if ref not in table or ex.get("curl") is not None:  # a full record replaces a lean one, never the reverse
            table[ref] = ex
    record = reports.record(report, data)
    config.stash[_RECORDS][record["id"]] = record  # a setup failure then its teardown: the last one stays


@pytest.hookimpl(tryfirst=True, specname="pytest_sessionstart")
def pytest_sessionstart_wait_for_deploy(session: pytest.Session) -> None:
    """Before any suite (and before xdist starts workers): wait until the target's distribution is Deployed,
    then take the entry document every worker will judge."""
    config = session.config
    target = config.stash.get(_TARGET, None)
    if target is None or hasattr(config, "workerinput"):
        return
    if not (target.aws.distribution_id or target.aws.stack) or not target.aws.wait:
        if not _batch_mode(config) and not (config.option.collectonly or config.option.help):
            config.stash[_ENTRY] = entry_snapshot(target)
        return
    from .aws.wait import NotDeployed, wait_before_run  # boto3 is loaded only for targets that name AWS

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    try:
        wait_before_run(target, min(config.stash[_DEADLINE], config.stash[_RUN_DEADLINE]),
                        lambda message: reporter.write_line(f"edgeverify: {message}") if reporter else None)
    except NotDeployed as exc:  # not a usage error: the deploy did not finish within the deadline
        _write_reports(config, 1, note=redact(f"the distribution was not deployed in time: {exc}"))
        pytest.exit(f"edgeverify: {exc}", returncode=1)
    except EdgeverifyError as exc:
        raise pytest.UsageError(f"edgeverify: {redact(str(exc))}") from None
    if not _batch_mode(config) and not (config.option.collectonly or config.option.help):
        config.stash[_ENTRY] = entry_snapshot(target)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker gets the run's deadlines, ledger and entry document, so all judge the same release."""
    config = node.config
    if _TARGET in config.stash:
        now = time.time() - time.monotonic()
        node.workerinput["edgeverify_deadline"] = now + config.stash[_DEADLINE]
        node.workerinput["edgeverify_run_deadline"] = now + config.stash[_RUN_DEADLINE]
        node.workerinput["edgeverify_entry"] = config.stash.get(_ENTRY, None)
        node.workerinput["edgeverify_ledger"] = config.stash[_LEDGER]


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _config
    _config = session.config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    timer = config.stash.get(_TIMER, None)
    if timer is not None:
        timer.cancel()
    engine = config.stash.get(_ENGINE, None)
    if engine is not None:
        engine.run.close()
    if hasattr(config, "workerinput") or _TARGET not in config.stash:
        return
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        selection = " ".join(f"{flag} {value!r}" for flag, value in (("-k", config.option.keyword),
                                                                       ("-m", config.option.markexpr)) if value)
        message = (f"edgeverify: no check was selected{' by ' + selection if selection else ''}. "
                   "`edgeverify rules` lists the rule ids and suites that -k and -m select.")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = 4
        return
    if config.option.collectonly:
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    for item in session.items:  # checks that never ran (interrupt, deadline) still get their row
        cid = item.stash.get(_CHECK_ID, None)
        if cid is None or cid in config.stash[_RECORDS]:
            continue
        marker = item.get_closest_marker("rule")
        rule = RULES.get(marker.args[0]) if marker else None
        reason = ("not run: the run's deadline (timeouts.run / --run-timeout) passed" if config.stash.get(_DEADLINE_HIT, False)
                  else "not run: the run was interrupted" if interrupted else "not run: the run ended before it")
        config.stash[_RECORDS][cid] = {
            "id": cid, "nodeid": item.nodeid, "status": "error", "duration_s": 0.0, "message": reason,
            "rule": rule.id if rule else None, "suite": rule.suite if rule else None,
            "summary": rule.summary if rule else None, "severity": rule.severity if rule else None,
            "advisory": None, "error_kind": "not_run", "attempts": 0, "elapsed_s": 0.0,
            "converged_after_s": None, "pops": [], "exchanges": []}
    note = ("the run's deadline (timeouts.run / --run-timeout) passed; checks still running ended as errors"
            if config.stash.get(_DEADLINE_HIT, False) else None)
    status = _write_reports(config, int(exitstatus), note)
    if status != exitstatus:
        session.exitstatus = status
    gc.freeze()  # the run's evidence is only freed at exit: pytest's closing collections need not walk it


def _write_reports(config: pytest.Config, exitstatus: int, note: str | None = None) -> int:
    """Write every report; the run's exit status, after the history's accepted failures and --fail-on."""
    target = config.stash[_TARGET]
    engine = config.stash.get(_ENGINE, None)
    network = None
    if engine is not None:
        stats = engine.run.transport.stats
        network = {"requests": stats.requests, "distinct": engine.run.distinct, "connections": stats.connections,
                   "phase_s": round(engine.phase_s, 3) if engine.phase_s is not None else None}
    gates = [r["gate"] for r in config.stash[_RECORDS].values() if r.get("gate")]  # one per process that ran checks
    failed = [g for g in gates if not g["passed"]]
    waits = [g["waited_s"] for g in gates if g["waited_s"] is not None]
    run = reports.RunInfo(started_at=config.stash[_STARTED], exit_status=exitstatus, note=note, network=network,
                          gate_passed=None if not gates else not failed,
                          served_after_s=max(waits) if waits and not failed else None,
                          release_seen_at=max((g["seen_at"] for g in gates if g.get("seen_at")), default=None),
                          gate_reason=failed[0]["reason"] if failed else None)
    folder = Path(config.getoption("reports_dir"))
    doc = reports.build_doc(list(config.stash[_RECORDS].values()), config.stash[_TABLE], target, run)
    status = _history(config, doc, folder, exitstatus)
    doc["exit_status"] = status
    config.stash[_REPORT_PATHS] = reports.write_all(doc, folder)
    return status


def _history(config: pytest.Config, doc: dict[str, Any], folder: Path, exitstatus: int) -> int:
    """Compare with and record into the run history (a failure to do so is said, never fatal)."""
    option = config.getoption("history")
    if option == "off":
        return exitstatus
    from . import history

    known = config.stash.get(_KNOWN, None)
    try:
        url = history.history_url(option, folder)
        doc["history"] = history.regression_view(doc, url, known=known)
        history.record_run(doc, url, known=known)
    except EdgeverifyError as exc:
        doc["history_error"] = redact(str(exc))
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"edgeverify: WARNING: run history not recorded: {redact(str(exc))}", yellow=True)
        return exitstatus
    return history.exit_code(doc, doc["history"], config.getoption("fail_on"))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    records = list(config.stash.get(_RECORDS, {}).values())
    target = config.stash.get(_TARGET, None)
    if target is not None and target.insecure:  # at the end too, where a reader of a quiet run looks
        terminalreporter.write_line(INSECURE_WARNING, red=True, bold=True)
    advisories = [r for r in records if r.get("advisory")]
    if advisories:
        terminalreporter.section("edgeverify advisory findings (not failing; --strict-advisories fails them)")
        for r in advisories:
            terminalreporter.write_line(r["advisory"])
    engine = config.stash.get(_ENGINE, None)
    if engine is not None and engine.gate is not None and engine.gate.waited_s is not None and target is not None \
            and target.propagation.release_marker:
        terminalreporter.write_line(f"edgeverify: release {target.propagation.release_marker} served after "
                                    f"{engine.gate.waited_s:.1f} s")
    converged = [r for r in records if r.get("converged_after_s")]
    if converged:
        terminalreporter.section("edgeverify convergence")
        for r in converged:
            terminalreporter.write_line(f"{r['id']}: passed after {r['attempts']} attempts, "
                                        f"{r['converged_after_s']:.1f} s")
    for path in config.stash.get(_REPORT_PATHS, []):
        terminalreporter.write_line(f"edgeverify report: {path}")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
