"""The pytest plugin: a thin adapter over the engine.

Checks are collected as pytest items (so -k, -m, -x, --lf and --junitxml work); the engine runs them
all at once before pytest's loop, and each item then replays its check's outcome (model.outcome),
decided once. The reports, the terminal summary and the exit status are all derived from the run's
`RunResult`s. Several --target files run in this one process over one transfer loop (each check an item
per target); pytest-xdist does not spread checks over workers.
"""

from __future__ import annotations

import functools
import gc
import inspect
import itertools
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import options, reports
from .errors import EdgeverifyError, TargetError
from .model import CheckInfo, CheckResult, ExitCode, Outcome, RunResult, Verdict, ending_of
from .redact import redact
from .rules import RULES
from .stopping import Stopper
from .target import Target

SUITES = ("static", "api", "cache", "cors", "https", "spa", "propagation", "config", "edges")
ENGINE_ARGS = frozenset({"edge", "target"})  # what the engine gives a check without pytest's fixtures
INSECURE_WARNING = ("edgeverify: WARNING: TLS VERIFICATION IS OFF (--insecure / insecure: true). "
                    "Certificates are not checked; do not trust a pass.")
PARAMS = (("page", lambda t: [(p, p) for p in t.static.pages]),
          ("api_call", lambda t: [(c, c.label) for c in t.api.calls]),
          ("deep_link", lambda t: [(p, p) for p in t.spa.deep_links]))


def suites_dir() -> Path:
    """The suites shipped with the package (the repository's suites/ in a clone)."""
    import edgeverify.suites

    return Path(next(iter(edgeverify.suites.__path__)))


def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoption(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hooks

    pluginmanager.add_hookspecs(hooks)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for suite in SUITES:
        config.addinivalue_line("markers", f"{suite}: the {suite} suite")
    config.addinivalue_line("markers", "rule(id): the edgeverify rule a check enforces (adds its suite marker)")
    config.addinivalue_line("markers", "release_independent: the check does not wait for the release marker")
    config.addinivalue_line("markers", "judged_once: the check is not retried until the propagation deadline")
    paths = options.target_paths(config)
    if not paths or hasattr(config, "workerinput"):
        return
    try:
        targets, opts = options.load(config, paths)
    except TargetError as exc:
        raise pytest.UsageError(redact(str(exc))) from None
    if getattr(config.option, "dist", "no") != "no":  # one process judges the targets (see the module docstring)
        config.option.dist, config.option.tx, config.option.numprocesses = "no", [], 0
    config.option.xmlpath = None  # the JUnit report is ours, written from the RunResult (to --junitxml's path)
    if config.args_source != pytest.Config.ArgsSource.ARGS:  # no paths named: the packaged suites, nothing else
        config.args = [str(suites_dir())]
    config.pluginmanager.register(EdgeverifyPlugin(config, targets, opts), "edgeverify-run")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("rule")
        if marker is None:
            continue
        if marker.args[0] not in RULES:
            raise pytest.UsageError(f"{item.nodeid}: unknown rule id '{marker.args[0]}'")
        item.add_marker(RULES[marker.args[0]].suite)
        item.extra_keyword_matches.add(marker.args[0])  # -k cache.api_never_hit, -k parity
    if config.pluginmanager.get_plugin("edgeverify-run") is None and any(
            "target" in getattr(item, "fixturenames", ()) for item in items):
        raise pytest.UsageError("edgeverify: no target. Pass --target FILE (see targets/example.yaml), "
                                "or set EDGEVERIFY_TARGET.")


def target_of(config: pytest.Config) -> Target:
    """The validated target (the first, with several), with command-line overrides applied."""
    found = config.pluginmanager.get_plugin("edgeverify-run")
    assert isinstance(found, EdgeverifyPlugin), "no --target: the edgeverify run plugin is not registered"
    return found.targets[0]


def edge_for(target: Target) -> None:
    """The engine gives each check its own evidence (an Attempt) as `edge`; the fixture only declares it. It takes
    `target` so that every check is an item per target; session-scoped, it costs nothing per item."""
    return None


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return target_of(pytestconfig)


@pytest.fixture(scope="session")
def edge(target: Target) -> None:
    return edge_for(target)


@functools.lru_cache(maxsize=None)
def _argnames(fn: Any) -> frozenset[str]:
    return frozenset(inspect.signature(fn).parameters)


class CheckEnded(Exception):
    """An item's outcome replayed for pytest; its text is the report (no traceback)."""


class EdgeverifyPlugin:
    """One run against one or more targets: an engine each, outcomes mapped onto pytest's reports, the reports."""

    def __init__(self, config: pytest.Config, targets: list[Target], opts: options.RunOptions) -> None:
        from .engine import Engine, Policy
        from .evidence import Run

        self.config, self.targets, self.options = config, targets, opts
        now = time.monotonic()
        self.run_deadline = now + opts.run_seconds
        self.infos: dict[str, CheckInfo] = {}  # nodeid -> the check
        self.engine_of: dict[str, Any] = {}  # nodeid -> its target's engine
        self.results: list[RunResult] = []
        self.report_paths: list[Path] = []
        self.stopper = Stopper(on_deadline=self._deadline)
        self.fleet: Any = None  # engine.Fleet, with several targets
        self.batched: set[str] = set()  # nodeids of the checks the engine ran in its batch
        self._locations: dict[Any, tuple[str, int | None]] = {}
        self.started = self._said = now
        self.engines = {}
        for t in targets:
            transport = config.hook.pytest_edgeverify_transport(target=t, deadline=self.run_deadline)
            if transport is None:
                from .client import EdgeClient  # pycurl is loaded only for a run

                transport = EdgeClient(t, deadline=self.run_deadline)
            self.engines[t.domain] = Engine(Run(t, transport), now + t.propagation.timeout, self.run_deadline,
                                            Policy(opts.strict_advisories, opts.known_issues, opts.fail_on),
                                            self._progress if len(targets) == 1 else None)

    def _progress(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"edgeverify: {message}")

    # -- start ------------------------------------------------------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        lines = [f"edgeverify: {t.domain} from {t.source}" + (f" via {' '.join(t.connect_to)}" if t.connect_to else "")
                 + f"; propagation deadline {t.propagation.timeout:g} s" for t in self.targets[:10]]
        lines += [f"edgeverify: and {len(self.targets) - 10} more targets"] if len(self.targets) > 10 else []
        return lines + ([INSECURE_WARNING] if any(t.insecure for t in self.targets) else [])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Stop signals end the run like Ctrl-C (the first counts); wait for the deploy when a target says so."""
        self.stopper.start(self.options.run_seconds)
        for t in self.targets:
            if (t.aws.distribution_id or t.aws.stack) and t.aws.wait and not self.config.option.collectonly:
                from .aws.wait import NotDeployed, wait_before_run  # boto3 only for targets that name AWS

                engine = self.engines[t.domain]
                try:
                    wait_before_run(t, min(engine.deadline, self.run_deadline), self._progress)
                except NotDeployed as exc:  # every check is then unjudged: the deploy did not finish in time
                    engine.interrupt(f"the distribution was not deployed in time: {exc}", deadline=True)
                except EdgeverifyError as exc:
                    raise pytest.UsageError(f"edgeverify: {redact(str(exc))}") from None

    def _deadline(self) -> None:
        for engine in self.engines.values():
            engine.deadline_hit = True
            engine.halted = "the run's deadline (timeouts.run / --run-timeout) passed; checks still running ended " \
                            "unjudged"

    # -- collection -------------------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Items come from the target files only; ids never carry a secret (a call's name, ${VAR} for a secret).
        With several targets each check is an item per target (the target's domain in its id)."""
        names = [(name, values) for name, values in PARAMS if name in metafunc.fixturenames]
        many = len(self.targets) > 1 and "target" in metafunc.fixturenames
        if not names and not many:
            return
        rows, ids = [], []
        for t in self.targets:
            for combo in itertools.product(*(values(t) for _, values in names)):
                rows.append(((t,) if many else ()) + tuple(value for value, _ in combo))
                ids.append("-".join(([t.domain] if many else []) + [redact(str(shown)) for _, shown in combo]))
        metafunc.parametrize((["target"] if many else []) + [name for name, _ in names], rows, ids=ids,
                             scope="session" if many else None)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("rule")
            if marker is None:
                continue
            t = getattr(getattr(item, "callspec", None), "params", {}).get("target", self.targets[0])
            name = item.name.replace(f"[{t.domain}]", "").replace(f"{t.domain}-", "") if len(self.targets) > 1 \
                else item.name  # a check's id is the same in a fleet as alone
            rule = RULES[marker.args[0]]
            self.infos[item.nodeid] = CheckInfo(f"{Path(str(item.path)).name}::{name}", rule.id, rule.suite,
                                                rule.summary, rule.severity, redact(item.nodeid))
            self.engine_of[item.nodeid] = self.engines[t.domain]

    # -- running: the engine once, then each item replays its outcome ------------------------------
    def _check(self, item: pytest.Item, kwargs: dict[str, Any] | None = None) -> Any:
        from .engine import Check

        assert isinstance(item, pytest.Function)
        argnames = _argnames(item.obj)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if kwargs is None:  # for the batch: only checks whose every argument the engine can give (pytest skips
            # an empty parameter set itself, in setup)
            if "edge" not in argnames or not argnames <= ENGINE_ARGS | set(params) or item.get_closest_marker("skip"):
                return None
            kwargs = {name: params[name] for name in argnames if name in params}
            kwargs.setdefault("target", self.engine_of[item.nodeid].target)
        return Check(self.infos[item.nodeid], item.obj, {k: v for k, v in kwargs.items() if k in argnames - {"edge"}},
                     gated=item.get_closest_marker("release_independent") is None,
                     retry="edge" in argnames and item.get_closest_marker("judged_once") is None,
                     takes_edge="edge" in argnames)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """The engine judges every check it can at once; then each item's outcome is reported to pytest as it was
        decided (no fixture is set up, nothing runs again), and the checks that take pytest's fixtures (the AWS
        audit) run through pytest's own protocol."""
        if self.config.option.collectonly or not session.items or session.testsfailed:
            return None  # pytest's own loop says what it says for these
        batches: dict[str, list[Any]] = {}
        for item in session.items:
            check = self._check(item) if item.nodeid in self.infos else None
            if check is not None:
                batches.setdefault(self.engine_of[item.nodeid].target.domain, []).append(check)
                self.batched.add(item.nodeid)
        gc.freeze()  # what was imported and collected lives to the end: no collection walks it again
        if len(self.engines) == 1:  # in this thread: the interrupt lands in the engine
            engine = self.engines[self.targets[0].domain]
            engine.run_checks(next(iter(batches.values()), []))
            engine.phase_s = time.monotonic() - self.started
            self._progress(f"{len(engine.verdicts)} checks judged {engine.run.transport.stats.requests} responses "
                           f"({engine.run.distinct} distinct requests) in {engine.phase_s:.2f} s")
        elif batches:  # on their own threads, while the targets already judged are reported
            from .engine import Fleet

            self.fleet = Fleet([(self.engines[d], checks) for d, checks in batches.items()]).start()
        for i, item in enumerate(session.items):
            if item.nodeid in self.batched:
                self._report(item)
            else:
                nextitem = session.items[i + 1] if i + 1 < len(session.items) else None
                item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        return True

    def _wait(self, engine: Any) -> None:
        """With several targets: until this target's checks have ended; progress now and then."""
        if self.fleet is not None and engine.phase_s is None:
            self.fleet.wait(engine)
            engine.phase_s = time.monotonic() - self.started
            if time.monotonic() - self._said >= 2 or self.fleet.finished == len(self.fleet.batches):
                self._said = time.monotonic()
                self._progress(f"{self.fleet.finished} of {len(self.fleet.batches)} targets judged")

    def _report(self, item: pytest.Item) -> None:
        """An engine-run check's outcome as pytest's reports (what its protocol would have said)."""
        engine = self.engine_of[item.nodeid]
        self._wait(engine)
        result = engine.result_of(self.infos[item.nodeid])
        hook, location, outcome = item.ihook, self._location(item), result.outcome
        hook.pytest_runtest_logstart(nodeid=item.nodeid, location=location)
        text = result.message or outcome.label
        phases: list[tuple[Any, Any, Any]] = [("setup", "passed", None), ("call", "passed", None)]
        if outcome is Outcome.SKIPPED:
            phases = [("setup", "skipped", (str(location[0]), (location[1] or 0) + 1, f"Skipped: {text}"))]
        elif outcome in (Outcome.COULD_NOT_JUDGE, Outcome.INTERRUPTED):  # an error, as pytest says it
            phases = [("setup", "failed", f"{outcome.label.upper()}: {text}")]
        elif outcome is Outcome.FAILED:
            phases[1] = ("call", "failed", text + (f"\n  Known issue: {result.acceptance.note()}"
                                                   if result.acceptance else ""))
        elif outcome is Outcome.ACCEPTED:
            phases[1] = ("call", "skipped", None)
        keywords: dict[str, Any] = dict.fromkeys(item.keywords, 1)
        for when, ended, longrepr in [*phases, ("teardown", "passed", None)]:
            report = pytest.TestReport(item.nodeid, location, keywords, ended, longrepr, when,
                                       duration=result.elapsed_s if when == "call" else 0.0)
            if when == "call" and outcome is Outcome.ACCEPTED and result.acceptance is not None:
                report.wasxfail = f"known issue, {result.acceptance.note()}"
            hook.pytest_runtest_logreport(report=report)
        hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=location)

    def _location(self, item: pytest.Item) -> tuple[str, int | None, str]:
        """item.location, its file and line found once per check function (pytest looks them up per item)."""
        fn = getattr(item, "obj", None)
        found = self._locations.get(fn)
        if found is None or not isinstance(item, pytest.Function) or item.cls is not None:
            location = item.location
            self._locations[fn] = location[:2]
            return location
        return (found[0], found[1], item.name)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """A check that takes pytest's fixtures (the AWS audit): run once by the engine, its outcome replayed."""
        info = self.infos.get(pyfuncitem.nodeid)
        if info is None:
            return None
        engine = self.engine_of[pyfuncitem.nodeid]
        self._wait(engine)
        if info.id not in engine.verdicts:
            args = _argnames(pyfuncitem.obj)
            engine.run_checks([self._check(pyfuncitem, {n: pyfuncitem.funcargs[n] for n in args})])
            engine.verdicts[info.id].data["properties"] = list(pyfuncitem.user_properties)
        self._replay(engine.result_of(info))
        return True

    @staticmethod
    def _replay(result: CheckResult) -> None:
        text = result.message or result.outcome.label
        if result.outcome is Outcome.SKIPPED:
            pytest.skip(text)
        if result.outcome is Outcome.ACCEPTED:
            assert result.acceptance is not None
            pytest.xfail(f"known issue, {result.acceptance.note()}")
        if result.outcome.bad:
            raise CheckEnded(f"{result.outcome.label.upper()}: {text}" if result.outcome is not Outcome.FAILED
                             else text + (f"\n  Known issue: {result.acceptance.note()}" if result.acceptance else ""))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        info = self.infos.get(item.nodeid)
        if call.when == "setup" and call.excinfo is not None and info is not None and info.id not in \
                self.engine_of[item.nodeid].verdicts:  # a fixture skipped (no AWS credentials) or failed: its ending
            self.engine_of[item.nodeid].record(info.id, Verdict(ending_of(call.excinfo.value), call.excinfo.value))
        if call.excinfo is not None and isinstance(call.excinfo.value, CheckEnded):
            report.longrepr = str(call.excinfo.value)
        elif report.failed and report.longrepr is not None:  # a fixture's error: its traceback shows arguments
            report.longrepr = redact(str(report.longrepr))
        return report

    # -- the end: one RunResult per target, every output from them --------------------------------
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.stopper.cancel()
        for engine in self.engines.values():
            engine.close()
        if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            selection = " ".join(f"{flag} {value!r}" for flag, value in (("-k", self.config.option.keyword),
                                                                           ("-m", self.config.option.markexpr)) if value)
            self._progress(f"no check was selected{' by ' + selection if selection else ''}. "
                           "`edgeverify rules` lists the rule ids and suites that -k and -m select.")
            session.exitstatus = ExitCode.USAGE
            return
        if self.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or self.stopper.interrupted.is_set()
        if interrupted and self.fleet is not None:
            self.fleet.interrupt("interrupted")
        selected: dict[int, list[CheckInfo]] = {id(e): [] for e in self.engines.values()}
        for item in session.items:
            if item.nodeid in self.infos:
                selected[id(self.engine_of[item.nodeid])].append(self.infos[item.nodeid])
        for engine in self.engines.values():
            if self.fleet is not None:
                self.fleet.wait(engine)  # a target whose items pytest never reached (-x, an interrupt)
            if interrupted:
                engine.interrupt(engine.halted or "interrupted", deadline=engine.halted is not None)
            result = engine.result(selected[id(engine)])
            if self.options.history != "off":
                from .history import compare_and_record

                result = compare_and_record(result, self.options.history, self.options.reports_dir)
            self.results.append(result)
        self.report_paths = reports.write_run(self.results, self.options.reports_dir, self.options.junit_path,
                                              fleet=self.options.fleet_part, combined=not self.options.fleet_part)
        session.exitstatus = reports.run_exit_status(self.results)
        gc.freeze()  # the run's evidence is only freed at exit: pytest's closing collections need not walk it

    def pytest_unconfigure(self) -> None:
        self.stopper.restore()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        terminalreporter.section("edgeverify")
        for line in reports.terminal_run(self.results):
            terminalreporter.write_line(line, red=line.startswith("edgeverify: ") and " failed, exit 1" in line)
        for path in self.report_paths:
            terminalreporter.write_line(f"edgeverify report: {path}")
