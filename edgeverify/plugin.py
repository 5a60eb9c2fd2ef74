"""The pytest plugin: a thin adapter over the engine.

Checks are collected as pytest items (so -k, -m, -x, --lf and --junitxml work); the engine runs them
all at once before pytest's loop, and each item then replays its check's outcome (model.outcome),
decided once. The reports, the terminal summary and the exit status are all derived from the run's
`RunResult`. With --target, pytest-xdist does not spread checks over workers: they already run
concurrently in this process over one transfer loop.
"""

from __future__ import annotations

import gc
import inspect
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
    path = config.getoption("target")
    if not path or hasattr(config, "workerinput"):
        return
    try:
        target, opts = options.load(config, path)
    except TargetError as exc:
        raise pytest.UsageError(redact(str(exc))) from None
    if getattr(config.option, "dist", "no") != "no":  # one process judges the target (see the module docstring)
        config.option.dist, config.option.tx, config.option.numprocesses = "no", [], 0
    config.option.xmlpath = None  # the JUnit report is ours, written from the RunResult (to --junitxml's path)
    if config.args_source != pytest.Config.ArgsSource.ARGS:  # no paths named: the packaged suites, nothing else
        config.args = [str(suites_dir())]
    config.pluginmanager.register(EdgeverifyPlugin(config, target, opts), "edgeverify-run")


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


def plugin_of(config: pytest.Config) -> EdgeverifyPlugin:
    found = config.pluginmanager.get_plugin("edgeverify-run")
    assert isinstance(found, EdgeverifyPlugin), "no --target: the edgeverify run plugin is not registered"
    return found


def target_of(config: pytest.Config) -> Target:
    """The validated target, with command-line overrides applied."""
    return plugin_of(config).target


def edge_for(request: pytest.FixtureRequest) -> None:
    """The engine gives each check its own evidence (an Attempt) as `edge`; the fixture only declares it."""
    return None


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return target_of(pytestconfig)


@pytest.fixture
def edge(request: pytest.FixtureRequest) -> None:
    return edge_for(request)


class CheckEnded(Exception):
    """An item's outcome replayed for pytest; its text is the report (no traceback)."""


class EdgeverifyPlugin:
    """One run against one target: builds the engine, maps outcomes onto pytest's reports, writes the reports."""

    def __init__(self, config: pytest.Config, target: Target, opts: options.RunOptions) -> None:
        from .engine import Engine, Policy
        from .evidence import Run

        self.config, self.target, self.options = config, target, opts
        now = time.monotonic()
        self.run_deadline = now + opts.run_seconds
        self.infos: dict[str, CheckInfo] = {}
        self.result: RunResult | None = None
        self.report_paths: list[Path] = []
        self.stopper = Stopper(on_deadline=self._deadline)
        transport = config.hook.pytest_edgeverify_transport(target=target, deadline=self.run_deadline)
        if transport is None:
            from .client import EdgeClient  # pycurl is loaded only for a run

            transport = EdgeClient(target, deadline=self.run_deadline)
        self.engine = Engine(Run(target, transport), now + target.propagation.timeout, self.run_deadline,
                             Policy(opts.strict_advisories, opts.known_issues, opts.fail_on), self._progress)

    def _progress(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"edgeverify: {message}")

    # -- start ------------------------------------------------------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        t = self.target
        lines = [f"edgeverify: {t.domain} from {t.source}" + (f" via {' '.join(t.connect_to)}" if t.connect_to else "")
                 + f"; propagation deadline {t.propagation.timeout:g} s"]
        return lines + ([INSECURE_WARNING] if t.insecure else [])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Stop signals end the run like Ctrl-C (the first counts); wait for the deploy when the target says so."""
        self.stopper.start(self.options.run_seconds)
        t = self.target
        if (t.aws.distribution_id or t.aws.stack) and t.aws.wait and not self.config.option.collectonly:
            from .aws.wait import NotDeployed, wait_before_run  # boto3 only for targets that name AWS

            try:
                wait_before_run(t, min(self.engine.deadline, self.run_deadline), self._progress)
            except NotDeployed as exc:  # every check is then unjudged: the deploy did not finish in time
                self.engine.interrupt(f"the distribution was not deployed in time: {exc}", deadline=True)
            except EdgeverifyError as exc:
                raise pytest.UsageError(f"edgeverify: {redact(str(exc))}") from None

    def _deadline(self) -> None:
        self.engine.deadline_hit = True
        self.engine.halted = "the run's deadline (timeouts.run / --run-timeout) passed; checks still running ended " \
                             "unjudged"

    # -- collection -------------------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Items come from the target file only; ids never carry a secret (a call's name, ${VAR} for a secret)."""
        t = self.target
        for name, values, ids in (("page", t.static.pages, t.static.pages),
                                  ("api_call", t.api.calls, [c.label for c in t.api.calls]),
                                  ("deep_link", t.spa.deep_links, t.spa.deep_links)):
            if name in metafunc.fixturenames:
                metafunc.parametrize(name, values, ids=[redact(i) for i in ids])

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("rule")
            if marker is not None:
                rule = RULES[marker.args[0]]
                self.infos[item.nodeid] = CheckInfo(f"{Path(str(item.path)).name}::{item.name}", rule.id, rule.suite,
                                                    rule.summary, rule.severity, redact(item.nodeid))

    # -- running: the engine once, then each item replays its outcome ------------------------------
    def _check(self, item: pytest.Item, kwargs: dict[str, Any] | None = None) -> Any:
        from .engine import Check

        assert isinstance(item, pytest.Function)
        argnames = set(inspect.signature(item.obj).parameters)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if kwargs is None:  # for the batch: only checks whose every argument the engine can give (pytest skips
            # an empty parameter set itself, in setup)
            if "edge" not in argnames or not argnames <= ENGINE_ARGS | set(params) or item.get_closest_marker("skip"):
                return None
            kwargs = {name: params[name] for name in argnames if name in params}
            if "target" in argnames:
                kwargs["target"] = self.target
        return Check(self.infos[item.nodeid], item.obj, {k: v for k, v in kwargs.items() if k != "edge"},
                     gated=item.get_closest_marker("release_independent") is None,
                     retry="edge" in argnames, takes_edge="edge" in argnames)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        if not self.config.option.collectonly and session.items and not session.shouldfail:
            checks = [c for c in (self._check(i) for i in session.items if i.nodeid in self.infos) if c is not None]
            if checks:
                gc.freeze()  # what was imported and collected lives to the end: no collection walks it again
                started = time.monotonic()
                self.engine.run_checks(checks)
                self.engine.phase_s = time.monotonic() - started
                stats = self.engine.run.transport.stats
                self._progress(f"{len(checks)} checks judged {stats.requests} responses ({self.engine.run.distinct} "
                               f"distinct requests, {stats.connections} connections) in {self.engine.phase_s:.2f} s")
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        info = self.infos.get(pyfuncitem.nodeid)
        if info is None:
            return None
        if info.id not in self.engine.verdicts:  # a check that takes pytest fixtures (the AWS audit): runs once
            args = inspect.signature(pyfuncitem.obj).parameters
            self.engine.run_checks([self._check(pyfuncitem, {n: pyfuncitem.funcargs[n] for n in args})])
            self.engine.verdicts[info.id].data["properties"] = list(pyfuncitem.user_properties)
        self._replay(self.engine.result_of(info))
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
                self.engine.verdicts:  # a fixture skipped (no AWS credentials) or failed: that is the check's ending
            self.engine.record(info.id, Verdict(ending_of(call.excinfo.value), call.excinfo.value))
        if call.excinfo is not None and isinstance(call.excinfo.value, CheckEnded):
            report.longrepr = str(call.excinfo.value)
        elif report.failed and report.longrepr is not None:  # a fixture's error: its traceback shows arguments
            report.longrepr = redact(str(report.longrepr))
        return report

    # -- the end: one RunResult, every output from it ---------------------------------------------
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.stopper.cancel()
        self.engine.close()
        if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            selection = " ".join(f"{flag} {value!r}" for flag, value in (("-k", self.config.option.keyword),
                                                                           ("-m", self.config.option.markexpr)) if value)
            self._progress(f"no check was selected{' by ' + selection if selection else ''}. "
                           "`edgeverify rules` lists the rule ids and suites that -k and -m select.")
            session.exitstatus = ExitCode.USAGE
            return
        if self.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return
        if exitstatus == pytest.ExitCode.INTERRUPTED or self.stopper.interrupted.is_set():
            self.engine.interrupt(self.engine.halted or "interrupted", deadline=self.engine.halted is not None)
        result = self.engine.result([self.infos[i.nodeid] for i in session.items if i.nodeid in self.infos])
        if self.options.history != "off":
            from .history import compare_and_record

            result = compare_and_record(result, self.options.history, self.options.reports_dir)
        self.result = result
        self.report_paths = reports.write_all(result, self.options.reports_dir, junit_path=self.options.junit_path)
        session.exitstatus = result.exit_status
        gc.freeze()  # the run's evidence is only freed at exit: pytest's closing collections need not walk it

    def pytest_unconfigure(self) -> None:
        self.stopper.restore()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.result is None:
            return
        terminalreporter.section("edgeverify")
        for line in reports.terminal(self.result):
            bad = self.result.exit_status is not ExitCode.OK
            terminalreporter.write_line(line, red=bad and line.startswith(f"edgeverify: {self.result.domain}:"))
        for path in self.report_paths:
            terminalreporter.write_line(f"edgeverify report: {path}")
