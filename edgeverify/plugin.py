"""The pytest plugin: options, fixtures, markers, retry around each check, failure output, reports.

It holds no HTTP logic (that is client.py) and no rules (rules/).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from . import reports
from .client import EdgeClient
from .errors import EdgeverifyError, TargetError
from .exchange import Exchange
from .release import entry_snapshot, seed_entry, wait_for_release
from .retry import converge
from .rules import RULES, Violation
from .target import Target, load_target, parse_connect_to

SUITES = ("static", "api", "cache", "cors", "https", "spa", "propagation", "config", "edges")
_TARGET = pytest.StashKey[Target]()
_DEADLINE = pytest.StashKey[float]()  # time.monotonic() after which failing checks are not retried
_RECORDS = pytest.StashKey[list[dict[str, Any]]]()
_OUTCOME = pytest.StashKey[dict[str, Any]]()
_ADVISORY = pytest.StashKey[str]()
_REPORT_PATHS = pytest.StashKey[list[Path]]()
_ENTRY = pytest.StashKey[dict[str, Any] | None]()  # the entry document, fetched once per run
_RELEASE_WAIT = pytest.StashKey[float]()  # seconds until this worker saw the release marker
INSECURE_WARNING = ("edgeverify: WARNING: TLS VERIFICATION IS OFF (--insecure / insecure: true). "
                    "Certificates are not checked; do not trust a pass.")
_config: pytest.Config | None = None  # logreport hooks get no config; set at session start


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("edgeverify", "edgeverify: verify a CDN-fronted domain")
    group.addoption("--target", default=os.environ.get("EDGEVERIFY_TARGET"), metavar="FILE",
                    help="target YAML describing the domain (env EDGEVERIFY_TARGET)")
    group.addoption("--connect-to", action="append", default=None, metavar="HOST:PORT:ADDR:PORT",
                    help="like curl --connect-to; repeatable; replaces the target's connect_to "
                         "(env EDGEVERIFY_CONNECT_TO, space-separated)")
    group.addoption("--ca-bundle", default=os.environ.get("EDGEVERIFY_CA_BUNDLE"), metavar="PEM",
                    help="CA bundle that must verify the edge's certificate (env EDGEVERIFY_CA_BUNDLE)")
    group.addoption("--insecure", action="store_true", default=False,
                    help="turn TLS verification OFF (reported loudly); certificate checks will fail")
    group.addoption("--propagation-timeout", type=float, default=None, metavar="SECONDS",
                    help="retry failing checks until this many seconds after the run starts")
    group.addoption("--reports-dir", default="reports", metavar="DIR",
                    help="where junit.xml, edgeverify.json and summary.md are written (default: reports)")
    group.addoption("--strict-advisories", action="store_true", default=False,
                    help="advisory findings fail the run (pytest already owns --strict)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for suite in SUITES:
        config.addinivalue_line("markers", f"{suite}: the {suite} suite")
    config.addinivalue_line("markers", "rule(id): the edgeverify rule a check enforces (adds its suite marker)")
    config.addinivalue_line("markers", "release_independent: the check does not wait for the release marker")
    config.stash[_RECORDS] = []
    config.stash[_DEADLINE] = time.monotonic()
    path = config.getoption("target")
    if path:
        try:
            target = _load_with_overrides(config, path)
        except TargetError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[_TARGET] = target
        config.stash[_DEADLINE] = time.monotonic() + target.propagation.timeout
        worker_input = getattr(config, "workerinput", None)
        if worker_input and "edgeverify_deadline" in worker_input:  # one deadline for the whole run
            config.stash[_DEADLINE] = time.monotonic() + worker_input["edgeverify_deadline"] - time.time()
            config.stash[_ENTRY] = worker_input.get("edgeverify_entry")
        if not hasattr(config, "workerinput") and not config.option.xmlpath:
            config.option.xmlpath = str(Path(config.getoption("reports_dir")) / "junit.xml")


def _load_with_overrides(config: pytest.Config, path: str) -> Target:
    target = load_target(path)
    specs = config.getoption("connect_to") or os.environ.get("EDGEVERIFY_CONNECT_TO", "").split()
    for spec in specs:
        try:
            parse_connect_to(spec)
        except ValueError as exc:
            raise TargetError(f"--connect-to: {exc}.") from None
    if specs:
        target.connect_to = list(specs)
    if config.getoption("ca_bundle"):
        target.ca_bundle = config.getoption("ca_bundle")
    if target.ca_bundle and not Path(target.ca_bundle).is_file():
        raise TargetError(f"CA bundle {target.ca_bundle} (from {path} or --ca-bundle): file not found.")
    if config.getoption("insecure"):
        target.insecure = True
    timeout = config.getoption("propagation_timeout")
    if timeout is not None:
        if timeout < 0:
            raise TargetError("--propagation-timeout must be 0 or more seconds.")
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
    """Items come from the target file only, so every xdist worker collects the same checks."""
    target = metafunc.config.stash.get(_TARGET, None)
    if target is None:
        return
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", target.static.pages)
    if "api_call" in metafunc.fixturenames:
        metafunc.parametrize("api_call", target.api.calls, ids=[c.label for c in target.api.calls])
    if "deep_link" in metafunc.fixturenames:
        metafunc.parametrize("deep_link", target.spa.deep_links)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_target = False
    for item in items:
        marker = item.get_closest_marker("rule")
        if marker is not None:
            rule_id = marker.args[0]
            if rule_id not in RULES:
                raise pytest.UsageError(f"{item.nodeid}: unknown rule id '{rule_id}'")
            item.add_marker(RULES[rule_id].suite)
        needs_target = needs_target or "target" in getattr(item, "fixturenames", ())
    if needs_target and _TARGET not in config.stash:
        raise pytest.UsageError("edgeverify: no target. Pass --target FILE (see targets/example.yaml), "
                                "or set EDGEVERIFY_TARGET.")


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The validated target, with command-line overrides applied."""
    return pytestconfig.stash[_TARGET]


@pytest.fixture(scope="session")
def edge_client(target: Target, pytestconfig: pytest.Config) -> Iterator[EdgeClient]:
    client = EdgeClient(target)
    seed_entry(client, target, pytestconfig.stash.get(_ENTRY, None))
    yield client
    client.session.close()


@pytest.fixture(scope="session")
def released(edge_client: EdgeClient, target: Target, pytestconfig: pytest.Config) -> float | None:
    """Wait until the edge serves the target's release marker; the seconds it took, or None if none declared."""
    waited = wait_for_release(edge_client, target, pytestconfig.stash[_DEADLINE])
    if waited is not None:
        pytestconfig.stash[_RELEASE_WAIT] = round(waited, 3)
    return waited


@pytest.fixture
def edge(edge_client: EdgeClient, request: pytest.FixtureRequest) -> EdgeClient:
    """The edge client, for one check (its exchanges are recorded per attempt).

    Checks wait for the release marker first, except those marked release_independent (the
    certificate does not depend on which build is served, and must be judged even when TLS fails).
    """
    if request.node.get_closest_marker("release_independent") is None:
        request.getfixturevalue("released")
    edge_client.log = []
    return edge_client


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a check until it passes or the propagation deadline passes."""
    if "edge" not in pyfuncitem.fixturenames:
        if pyfuncitem.get_closest_marker("rule") is None:
            return None
        try:  # no edge, nothing to retry (e.g. the config audit); advisories are still reported, not failed
            pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames})
        except Violation as exc:
            if exc.advisory and not pyfuncitem.config.getoption("strict_advisories"):
                pyfuncitem.stash[_ADVISORY] = exc.render()
                return True
            raise
        return True
    client: EdgeClient = pyfuncitem.funcargs["edge"]  # type: ignore[assignment]
    target: Target = pyfuncitem.config.stash[_TARGET]
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    tries = 0

    def attempt() -> None:
        nonlocal tries
        tries += 1
        client.log = []
        client.sent_unrepeatable = False
        if tries > 1:
            client.forget_shared()
        pyfuncitem.obj(**args)

    try:
        _, outcome = converge(attempt, target.propagation, pyfuncitem.config.stash[_DEADLINE],
                              may_retry=lambda: not client.sent_unrepeatable)
        pyfuncitem.stash[_OUTCOME] = {"attempts": outcome.attempts, "elapsed_s": round(outcome.elapsed_s, 3),
                                      "converged_after_s": _round(outcome.converged_after_s)}
    except Violation as exc:
        attempts = exc.attempts
        pyfuncitem.stash[_OUTCOME] = {"attempts": attempts.count if attempts else 1,
                                      "elapsed_s": round(attempts.elapsed_s, 3) if attempts else 0.0,
                                      "converged_after_s": None}
        if exc.advisory and not pyfuncitem.config.getoption("strict_advisories"):
            pyfuncitem.stash[_ADVISORY] = exc.render()
            return True
        raise
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                               ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    excinfo = call.excinfo
    if excinfo is not None and isinstance(excinfo.value, (Violation, EdgeverifyError)):
        value = excinfo.value
        report.longrepr = value.render() if isinstance(value, Violation) else f"{type(value).__name__}: {value}"
    if call.when == "call" or report.failed or report.skipped:
        client = item.funcargs.get("edge") if isinstance(item, pytest.Function) else None
        log: list[Exchange] = client.log if isinstance(client, EdgeClient) else []
        marker = item.get_closest_marker("rule")
        rule = RULES.get(marker.args[0]) if marker else None
        violation = excinfo.value if excinfo is not None and isinstance(excinfo.value, Violation) else None
        if violation is not None:
            rule = violation.rule
            if not log and violation.exchange is not None:  # failed in setup (the release gate)
                log = [violation.exchange, *violation.extra]
        report.edgeverify = {  # type: ignore[attr-defined]
            "rule": rule.id if rule else None,
            "suite": rule.suite if rule else None,
            "summary": rule.summary if rule else None,
            "severity": rule.severity if rule else None,
            "advisory": item.stash.get(_ADVISORY, None),
            "release_served_after_s": item.config.stash.get(_RELEASE_WAIT, None),
            **item.stash.get(_OUTCOME, {}),  # type: ignore[arg-type]
            "exchanges": [ex.to_dict() for ex in log],
        }
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    data = getattr(report, "edgeverify", None)
    if data is None or (report.when != "call" and report.passed):
        return
    config = _config
    if config is None or hasattr(config, "workerinput"):
        return
    records = config.stash[_RECORDS]
    records[:] = [r for r in records if r["nodeid"] != report.nodeid]  # setup failure then teardown: keep last
    records.append(reports.record(report, data))


@pytest.hookimpl(tryfirst=True, specname="pytest_sessionstart")
def pytest_sessionstart_wait_for_deploy(session: pytest.Session) -> None:
    """Before any suite (and before xdist starts workers): wait until the target's distribution is Deployed,
    then take the entry document every check will judge."""
    config = session.config
    target = config.stash.get(_TARGET, None)
    if target is None or hasattr(config, "workerinput"):
        return
    from .aws.wait import NotDeployed, wait_before_run

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    try:
        wait_before_run(target, config.stash[_DEADLINE],
                        lambda message: reporter.write_line(f"edgeverify: {message}") if reporter else None)
    except NotDeployed as exc:  # not a usage error: the deploy is not finished within the deadline
        pytest.exit(f"edgeverify: {exc}", returncode=1)
    except EdgeverifyError as exc:
        raise pytest.UsageError(f"edgeverify: {exc}") from None
    if not (config.option.collectonly or config.option.help):
        config.stash[_ENTRY] = entry_snapshot(target)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker gets the run's deadline and entry document, so all judge the same release."""
    config = node.config
    if _TARGET in config.stash:
        node.workerinput["edgeverify_deadline"] = time.time() + config.stash[_DEADLINE] - time.monotonic()
        node.workerinput["edgeverify_entry"] = config.stash.get(_ENTRY, None)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _config
    _config = session.config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or _TARGET not in config.stash:
        return
    records = config.stash[_RECORDS]
    paths = reports.write_all(records, Path(config.getoption("reports_dir")), config.stash[_TARGET], exitstatus)
    config.stash[_REPORT_PATHS] = paths


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    records = config.stash.get(_RECORDS, [])
    target = config.stash.get(_TARGET, None)
    if target is not None and target.insecure:  # at the end too, where a reader of a quiet run looks
        terminalreporter.write_line(INSECURE_WARNING, red=True, bold=True)
    advisories = [r for r in records if r.get("advisory")]
    if advisories:
        terminalreporter.section("edgeverify advisory findings (not failing; --strict-advisories fails them)")
        for r in advisories:
            terminalreporter.write_line(r["advisory"])
    release_waits = [r["release_served_after_s"] for r in records if r.get("release_served_after_s") is not None]
    if release_waits and target is not None:
        terminalreporter.write_line(f"edgeverify: release {target.propagation.release_marker} served after "
                                    f"{max(release_waits):.1f} s")
    converged = [r for r in records if r.get("converged_after_s")]
    if converged:
        terminalreporter.section("edgeverify convergence")
        for r in converged:
            terminalreporter.write_line(f"{r['nodeid']}: passed after {r['attempts']} attempts, "
                                        f"{r['converged_after_s']:.1f} s")
    for path in config.stash.get(_REPORT_PATHS, []):
        terminalreporter.write_line(f"edgeverify report: {path}")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
