"""The pytest plugin: a thin adapter over the engine.

Checks are collected as pytest items (so -k, -m, -x, --lf and --junitxml work); the engine runs them
all at once before pytest's loop, and each item then replays its check's outcome (model.outcome),
decided once. The reports, the terminal summary and the exit status are all derived from the run's
`RunResult`s. Several --target files run in this one process over one transfer loop (each check an item
per target); pytest-xdist does not spread checks over workers.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import pytest

from . import hooks, options, reports, skew
from .errors import EdgeverifyError, TargetError
from .model import CheckInfo, ExitCode, RunResult
from .redact import redact
from .replay import Locations, check_info, check_of, params, report
from .rules import RULES
from .stopping import Stopper
from .target import Target


def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoption(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    options.register_markers(config)
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
        config.args = [str(options.suites_dir())]
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


class EdgeverifyPlugin:
    """One run against one or more targets: an engine each, outcomes mapped onto pytest's reports, the reports."""

    def __init__(self, config: pytest.Config, targets: list[Target], opts: options.RunOptions) -> None:
        from .engine import Policy, engines_for

        self.config, self.targets, self.options = config, targets, opts
        now = time.monotonic()
        self.run_deadline = now + opts.run_seconds
        self.infos: dict[str, CheckInfo] = {}  # nodeid -> the check
        self.engine_of: dict[str, Any] = {}  # nodeid -> its target's engine
        self.selected: dict[int, list[CheckInfo]] = {}  # id(engine) -> its checks selected, in order
        self.results: list[RunResult] = []
        self.report_paths: list[Path] = []
        self.stopper = Stopper(on_deadline=self._deadline)
        self.fleet: Any = None  # engine.Fleet, with several targets
        self.location = Locations()
        self.engines = engines_for(targets, self._transport, self.run_deadline,
                                   Policy(opts.strict_advisories, opts.known_issues, opts.fail_on),
                                   self._progress if len(targets) == 1 else None, opts.reports_dir)

    def _transport(self, target: Target) -> Any:
        """A conftest's or plugin's (pytest_edgeverify_transport), else libcurl's (pycurl is loaded only for a run)."""
        found = self.config.hook.pytest_edgeverify_transport(target=target, deadline=self.run_deadline)
        if found is None:
            from .client import EdgeClient

            found = EdgeClient(target, deadline=self.run_deadline)
        return found

    def _progress(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"edgeverify: {message}")

    # -- start ------------------------------------------------------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        return reports.header(self.targets)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Stop signals end the run like Ctrl-C (the first counts); wait for the deploy when a target says so."""
        self.stopper.start(self.options.run_seconds)
        if not self.config.option.collectonly:  # the previous release the run history recorded (skew.py)
            skew.recall_releases(self.targets, self.options.history, self.options.reports_dir)
        if any(t.aws.wait and (t.aws.distribution_id or t.aws.stack) for t in self.targets) \
                and not self.config.option.collectonly:
            from .aws.wait import wait_for_deploys  # boto3 only for targets that name AWS

            try:
                wait_for_deploys(list(self.engines.values()), self._progress)
            except EdgeverifyError as exc:
                raise pytest.UsageError(f"edgeverify: {redact(str(exc))}") from None

    def _deadline(self) -> None:
        for engine in self.engines.values():
            engine.halt("the run's deadline (timeouts.run / --run-timeout) passed; checks still running ended unjudged")

    # -- collection -------------------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        found = options.parametrization(self.targets, metafunc.fixturenames)
        if found is not None:
            names, rows, ids = found
            metafunc.parametrize(names, rows, ids=ids, scope="session" if "target" in names else None)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("rule")
            if marker is None:
                continue
            t = params(item).get("target", self.targets[0])
            self.infos[item.nodeid] = check_info(item, marker.args[0], t.domain, len(self.targets) > 1)
            self.engine_of[item.nodeid] = self.engines[t.domain]

    # -- running: the engine once, then each item replays its outcome ------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """The engine judges every check at once; then each item's outcome is reported to pytest as it was decided
        (no fixture is set up, nothing runs again). Items that are not checks run through pytest's protocol."""
        if self.config.option.collectonly or not session.items or session.testsfailed:
            return None  # pytest's own loop says what it says for these
        from .engine import run_batches

        batches: dict[int, tuple[Any, list[Any]]] = {}
        self._select(session.items)
        for item in session.items:
            check = check_of(item, self.infos[item.nodeid], self.engine_of[item.nodeid]) \
                if item.nodeid in self.infos else None
            if check is not None:
                engine = self.engine_of[item.nodeid]
                batches.setdefault(id(engine), (engine, []))[1].append(check)
        gc.freeze()  # what was imported and collected lives to the end: no collection walks it again
        self.fleet = run_batches(list(batches.values()), self.selected, self._progress)
        for i, item in enumerate(session.items):
            if item.nodeid in self.infos:
                engine = self.engine_of[item.nodeid]
                self._wait(engine)
                report(item, engine.result_of(self.infos[item.nodeid]), self.location(item))
            else:
                nextitem = session.items[i + 1] if i + 1 < len(session.items) else None
                item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        return True

    def _select(self, items: list[pytest.Item]) -> None:
        for item in items:
            if item.nodeid in self.infos:
                self.selected.setdefault(id(self.engine_of[item.nodeid]), []).append(self.infos[item.nodeid])

    def _wait(self, engine: Any) -> None:
        if self.fleet is not None:
            self.fleet.wait(engine, self._progress)

    # -- the end: one RunResult per target, every output from them --------------------------------
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.stopper.cancel()
        if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            self._progress(reports.nothing_selected(self.config.option.keyword, self.config.option.markexpr))
            session.exitstatus = ExitCode.USAGE
            return
        if self.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return
        from .engine import finish

        if not self.selected:  # pytest's own loop ran (an error at collection, say): the selection as it stands
            self._select(session.items)
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or self.stopper.interrupted.is_set()
        self.results = finish(list(self.engines.values()), self.selected, self.fleet, interrupted=interrupted)
        if self.options.history != "off":
            from .history import compare_and_record

            self.results = [compare_and_record(r, self.options.history, self.options.reports_dir) for r in self.results]
        if self.options.known_issues is not None:
            from .history.known import warn_unmatched

            self.results = warn_unmatched(self.results, self.options.known_issues)
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
