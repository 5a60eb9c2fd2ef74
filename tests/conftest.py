"""Fixtures shared by the project's tests: the local edge lab and a way to run edgeverify against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]  # tests/plugin: the plugin run in-process on scripted answers

ROOT = Path(__file__).resolve().parents[1]
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"

# Tests reach only loopback addresses: edgeverify's client refuses any other before connecting (client.py), here
# and in every edgeverify process a test starts (they inherit the environment).
os.environ["EDGEVERIFY_LOOPBACK_ONLY"] = "1"


@dataclass
class Run:
    """One edgeverify run (a real pytest session in a subprocess) and what it reported."""

    returncode: int
    output: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    doc: dict[str, Any] = field(default_factory=dict)

    def exchanges(self, check: dict[str, Any]) -> list[dict[str, Any]]:
        """The exchanges a check judged (the report stores each once, by id)."""
        return [self.doc["exchanges"][ref] for ref in check.get("exchanges", [])]

    def failed(self) -> dict[str, str]:
        """rule id -> failure message, for every failed (or advisory-flagged) check."""
        found: dict[str, str] = {}
        for c in self.checks:
            if c["outcome"] not in ("passed", "skipped", "accepted") and c.get("rule"):
                found.setdefault(c["rule"], c.get("message") or c.get("advisory") or "")
        return found

    def outcomes(self) -> dict[str, str]:
        return {c["id"]: c["outcome"] for c in self.checks}


@pytest.fixture(scope="session")
def lab() -> Iterator[Any]:
    from edgeverify.lab import Lab

    with Lab() as running:
        yield running


@pytest.fixture(scope="session")
def run_edgeverify(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Run]:
    """run_edgeverify(edge, *pytest_args, target=LAB_TARGET, env=None) -> Run.

    Runs the suites (default: all of suites/) against the given lab edge, single attempt unless
    the args set --propagation-timeout, and reads the JSON report.
    """

    def run(edge: Any, *args: str, target: Path = LAB_TARGET, env: dict[str, str] | None = None,
            timeout: float = 240) -> Run:
        reports = tmp_path_factory.mktemp("reports")
        paths = [a for a in args if not a.startswith("-") and a.endswith(".py")] or [str(ROOT / "suites")]
        options = [a for a in args if a not in paths]
        if not any(a.startswith("--propagation-timeout") for a in options):
            options.append("--propagation-timeout=0")
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "ignore", "-q", "-rs",
               "--target", str(target), "--reports-dir", str(reports), *options, *paths]
        proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **edge.env(), **(env or {})},
                              capture_output=True, text=True, timeout=timeout)
        report = reports / "edgeverify.json"
        doc = json.loads(report.read_text()) if report.exists() else {}
        return Run(proc.returncode, proc.stdout + proc.stderr, doc.get("checks", []), doc)

    return run


# Summaries some tests write under reports/ (on xdist workers), printed by the controller at the end.
SUMMARIES = {"diagnose-corpus.txt": "diagnose corpus score (tests/data/corpus)",
             "browser-agreement.md": "browser agreement (headless Chromium vs the suites)",
             "observatory-agreement.md": "security grade agreement (MDN's scanner vs the security suite)"}


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        for old in (ROOT / "reports" / "fault-matrix").glob("*.json"):
            old.unlink()
        for name in SUMMARIES:
            (ROOT / "reports" / name).unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the summaries tests wrote, and the fault matrix (fault x suite) when the matrix test ran."""
    for name, title in SUMMARIES.items():
        if (ROOT / "reports" / name).exists():
            terminalreporter.section(title)
            terminalreporter.write((ROOT / "reports" / name).read_text())
    rows = [json.loads(p.read_text()) for p in sorted((ROOT / "reports" / "fault-matrix").glob("*.json"))]
    if not rows:
        return
    suites = ["https", "static", "cache", "api", "cors", "spa", "propagation", "security", "browser", "ipv6"]
    lines = ["| fault | " + " | ".join(suites) + " |", "|---|" + "---|" * len(suites)]
    for row in sorted(rows, key=lambda r: (r["meant"], r["fault"])):
        cells = []
        for s in suites:
            mark = "CAUGHT" if s in row["failing"] and s in row["meant"] else (
                "also" if s in row["failing"] else ("MISSED" if s in row["meant"] else "."))
            cells.append(mark)
        lines.append(f"| {row['fault']} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    (ROOT / "reports" / "fault-matrix.md").write_text(
        "# Fault matrix\n\nCAUGHT: the suite meant for the fault failed; also: another suite failed too; "
        "MISSED: the meant suite passed.\n\n" + table + "\n")
    terminalreporter.section("fault matrix (fault x suite)")
    terminalreporter.write_line(table)
