"""The run's options: pytest's command line (and environment) over the target file, validated once."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from .errors import TargetError
from .target import RANGES, Target, check_connect_to, load_target, origin_kind, validate_seconds


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("edgeverify", "edgeverify: verify a CDN-fronted domain")
    group.addoption("--target", action="append", default=None, metavar="FILE",
                    help="target YAML describing the domain (env EDGEVERIFY_TARGET); runs the packaged suites; "
                         "repeatable: many targets run in this one process, reports in REPORTS-DIR/<domain>/")
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
                         "deadline plus 120 s); checks still running end unjudged, reports are written")
    group.addoption("--reports-dir", default="reports", metavar="DIR",
                    help="where junit.xml, edgeverify.json, summary.md and report.html are written (default: reports)")
    group.addoption("--fleet-part", action="store_true", default=False,
                    help="(used by `edgeverify run -n`) write each target's reports into REPORTS-DIR/<domain>/ and no "
                         "combined summary: the parent process writes it")
    group.addoption("--strict-advisories", action="store_true", default=False,
                    help="advisory findings fail the run (pytest already owns --strict)")
    group.addoption("--history", default=os.environ.get("EDGEVERIFY_HISTORY"), metavar="URL",
                    help="run history: sqlite:///PATH or postgresql://... (env EDGEVERIFY_HISTORY; default "
                         "REPORTS-DIR/history.sqlite, next to the reports; 'off' records nothing)")
    group.addoption("--known-issues", default=None, metavar="FILE",
                    help="YAML of accepted failures (rule, item pattern, reason, owner, expires)")
    group.addoption("--fail-on", default="any", choices=("any", "new"),
                    help="'new': fail only on failures new since the last run (and expired acceptances)")


def suites_dir() -> Path:
    """The suites shipped with the package (the repository's suites/ in a clone)."""
    import edgeverify.suites

    return Path(next(iter(edgeverify.suites.__path__)))


SUITES = ("static", "api", "cache", "cors", "https", "spa", "propagation", "config", "edges", "security", "browser",
          "latency", "ipv6")


def register_markers(config: pytest.Config) -> None:
    for suite in SUITES:
        config.addinivalue_line("markers", f"{suite}: the {suite} suite")
    config.addinivalue_line("markers", "rule(id): the edgeverify rule a check enforces (adds its suite marker)")
    config.addinivalue_line("markers", "release_independent: the check does not wait for the release marker")
    config.addinivalue_line("markers", "judged_once: the check is not retried until the propagation deadline")


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What varies per run besides the target."""

    run_seconds: float
    reports_dir: Path
    junit_path: Path | None  # pytest's --junitxml, when given: our JUnit goes there too
    fleet_part: bool  # one of the processes of `edgeverify run -n N`: per-target reports only
    strict_advisories: bool
    history: str | None
    known_issues: Any  # history.known.KnownIssues | None
    fail_on: Literal["any", "new"]


def target_paths(config: pytest.Config) -> list[str]:
    """The target files of the run: every --target, else $EDGEVERIFY_TARGET."""
    given = config.getoption("target") or ([os.environ["EDGEVERIFY_TARGET"]] if os.environ.get("EDGEVERIFY_TARGET")
                                          else [])
    return list(dict.fromkeys(given))


def load(config: pytest.Config, paths: list[str]) -> tuple[list[Target], RunOptions]:
    """The targets with the command line's overrides, and the run's options; TargetError on bad input."""
    targets: list[Target] = []
    seen: dict[str, str] = {}
    specs = config.getoption("connect_to") or os.environ.get("EDGEVERIFY_CONNECT_TO", "").split()
    for path in paths:
        target = _load_one(config, path, specs, only_own=len(paths) > 1)
        if target.domain in seen:
            raise TargetError(f"{path}: domain {target.domain} is already the target of {seen[target.domain]}; "
                              "each domain is verified once per run")
        seen[target.domain] = path
        targets.append(target)
    run_seconds = _seconds(config, "run_timeout", "--run-timeout", *RANGES["timeouts.run"])
    known = None
    if config.getoption("known_issues"):
        from .history import load_known_issues

        known = load_known_issues(config.getoption("known_issues"))
    junit = config.option.xmlpath
    return targets, RunOptions(
        run_seconds=run_seconds if run_seconds is not None else max(t.run_deadline_s() for t in targets),
        reports_dir=Path(config.getoption("reports_dir")), junit_path=Path(junit) if junit else None,
        fleet_part=config.getoption("fleet_part"),
        strict_advisories=config.getoption("strict_advisories"), history=config.getoption("history"),
        known_issues=known, fail_on=config.getoption("fail_on"))


def _load_one(config: pytest.Config, path: str, specs: list[str], only_own: bool) -> Target:
    """One target with the overrides; with several targets, a --connect-to applies to its own host only."""
    target = load_target(path)
    if only_own:
        # its own host, and the origin endpoints (S3, execute-api) security.origin_direct may ask
        specs = [s for s in specs if s.split(":")[0].lower() == target.domain.lower() or origin_kind(s.split(":")[0])]
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


def _seconds(config: pytest.Config, option: str, flag: str, minimum: float, maximum: float) -> float | None:
    raw = config.getoption(option)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise TargetError(f"{flag} {raw!r}: not a number of seconds.") from None
    return validate_seconds(value, flag, minimum, maximum)


PARAMS: tuple[tuple[str, Callable[[Target], list[tuple[Any, str]]]], ...] = (
    ("page", lambda t: [(p, p) for p in t.static.pages]),
    ("api_call", lambda t: [(c, c.label) for c in t.api.calls]),
    ("deep_link", lambda t: [(p, p) for p in t.spa.deep_links]),
    # the browser suite's pages: the entry page and each deep link (the app's pages)
    ("browser_page", lambda t: [(p, p) for p in dict.fromkeys([t.static.pages[0] if t.static.pages else "/",
                                                               *t.spa.deep_links])]))


def parametrization(targets: list[Target], fixturenames: list[str]) -> tuple[list[str], list[tuple[Any, ...]],
                                                                             list[str]] | None:
    """(argnames, rows, ids) a check is parametrized with, from the target files only (every worker or rerun
    collects the same checks); ids never carry a secret (a call's name; ${VAR} for a secret). With several
    targets each check is an item per target (`target` first, the domain in its id). None: not parametrized."""
    from .redact import redact

    names = [(name, values) for name, values in PARAMS if name in fixturenames]
    many = len(targets) > 1 and "target" in fixturenames
    if not names and not many:
        return None
    rows, ids = [], []
    for t in targets:
        for combo in itertools.product(*(values(t) for _, values in names)):
            rows.append(((t,) if many else ()) + tuple(value for value, _ in combo))
            ids.append("-".join(([t.domain] if many else []) + [redact(str(shown)) for _, shown in combo]))
    return (["target"] if many else []) + [name for name, _ in names], rows, ids

