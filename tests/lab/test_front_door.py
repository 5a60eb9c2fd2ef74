"""`edgeverify run` over several targets: one row per target in one combined summary, the same summary from
shards merged, and the front door's cost over plain pytest on the same checks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"


def _targets(lab, folder: Path) -> dict[str, Path]:
    """Three targets, three domains, three edges; the third edge has a fault."""
    text = LAB_TARGET.read_text()
    made = {}
    for name, faults in (("alpha", []), ("bravo", []), ("charlie", ["hsts-short"])):
        edge = lab.edge(faults=faults)
        domain = f"{name}.example.test"
        connect = [spec.replace("www.example.test", domain) for spec in edge.connect_to]
        body = re.sub(r"^domain: .*$", f"domain: {domain}", text, flags=re.M)
        body += f"\nconnect_to: {json.dumps(connect)}\nca_bundle: {edge.ca_bundle}\n"
        path = folder / f"{name}.yaml"
        path.write_text(body)
        made[domain] = path
    return made


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEVERIFY_")}
    return subprocess.run([sys.executable, "-m", "edgeverify.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _rows(summary: str) -> dict[str, str]:
    rows = {}
    for line in summary.splitlines():
        m = re.search(r"(\w+\.example\.test)", line)
        if line.startswith("|") and m:
            rows[m.group(1)] = "fail" if ("❌" in line or "FAIL" in line.upper()) else "pass"
    return rows


def test_many_targets_one_combined_summary_and_shards_merge_to_the_same(lab, tmp_path):
    targets = _targets(lab, tmp_path)
    paths = [str(p) for p in targets.values()]
    full = _run("run", *paths, "--reports-dir", str(tmp_path / "all"), "--", "--propagation-timeout=0", cwd=tmp_path)
    assert full.returncode == 1, full.stdout + full.stderr
    for domain in targets:
        assert (tmp_path / "all" / domain / "edgeverify.json").exists()
    combined = (tmp_path / "all" / "summary.md").read_text()
    assert _rows(combined) == {"alpha.example.test": "pass", "bravo.example.test": "pass",
                               "charlie.example.test": "fail"}, combined
    assert (tmp_path / "all" / "summary.html").exists()

    for k in (1, 2):
        shard = _run("run", "--shard", f"{k}/2", *paths, "--reports-dir", str(tmp_path / f"shard{k}"), "--",
                     "--propagation-timeout=0", cwd=tmp_path)
        assert shard.returncode in (0, 1), shard.stdout + shard.stderr
    merged = _run("merge", str(tmp_path / "shard1"), str(tmp_path / "shard2"), "-o", str(tmp_path / "merged"),
                  cwd=tmp_path)
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert _rows((tmp_path / "merged" / "summary.md").read_text()) == _rows(combined)


def test_the_front_door_costs_little_over_plain_pytest(lab, tmp_path):
    """Figures, not a timed assert: printed for the closing note (run with -s to see them)."""
    targets = list(_targets(lab, tmp_path).values())
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEVERIFY_")}

    def timed(cmd: list[str]) -> float:
        started = time.monotonic()
        subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, timeout=300)
        return time.monotonic() - started

    plain = timed([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--target={targets[0]}",
                   f"--reports-dir={tmp_path / 'p'}", "--propagation-timeout=0", str(ROOT / "suites")])
    front = timed([sys.executable, "-m", "edgeverify.cli", "run", str(targets[0]), "--reports-dir",
                   str(tmp_path / "f"), "--", "--propagation-timeout=0"])
    three = timed([sys.executable, "-m", "edgeverify.cli", "run", *map(str, targets), "--reports-dir",
                   str(tmp_path / "t"), "--", "--propagation-timeout=0"])
    print(f"\nfront door: plain pytest 1 target {plain:.2f} s; edgeverify run 1 target {front:.2f} s "
          f"(+{front - plain:.2f} s); edgeverify run 3 targets {three:.2f} s")
    assert (tmp_path / "f" / "edgeverify.json").exists() and (tmp_path / "t" / "summary.md").exists()


def test_n_spreads_the_targets_over_processes_with_the_same_combined_reports(lab, tmp_path):
    import xml.etree.ElementTree as ET

    targets = _targets(lab, tmp_path)
    paths = [str(p) for p in targets.values()]
    one = _run("run", *paths, "-n", "1", "--reports-dir", str(tmp_path / "one"), "--", "--propagation-timeout=0",
               cwd=tmp_path)
    two = _run("run", *paths, "-n", "2", "--reports-dir", str(tmp_path / "two"), "--", "--propagation-timeout=0",
               cwd=tmp_path)
    assert one.returncode == two.returncode == 1, two.stdout + two.stderr
    assert "over 2 processes" in two.stdout and "charlie.example.test: failed, exit 1" in two.stdout
    assert _rows((tmp_path / "two" / "summary.md").read_text()) == _rows((tmp_path / "one" / "summary.md").read_text())
    suites = ET.parse(tmp_path / "two" / "junit.xml").getroot().findall("testsuite")
    assert sorted(s.get("name") for s in suites) == sorted(targets)  # a testsuite per target, named by its domain
    for domain in targets:  # each target's own reports, as in one process
        doc = json.loads((tmp_path / "two" / domain / "edgeverify.json").read_text())
        assert doc["domain"] == domain and (tmp_path / "two" / domain / "report.html").exists()


def test_a_spread_target_whose_process_wrote_no_report_is_never_shown_as_passed(tmp_path, monkeypatch, capsys):
    """-n: a process killed (or interrupted) before it wrote its targets' reports: those targets are shown as
    ended early in the terminal and the combined summary, and the exit status says so; never '0 targets: passed'."""
    import subprocess as sp

    from edgeverify import front

    paths = []
    for name in ("alpha", "bravo"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"domain: {name}.example.test\n")
        paths.append(str(path))
    killed = sp.CompletedProcess([], returncode=-9)  # the child died without writing anything
    monkeypatch.setattr(front.subprocess, "run", lambda *a, **k: killed)
    status = front._spread(paths, str(tmp_path / "reports"), [], 2)
    out = capsys.readouterr().out
    assert status == 2, out
    assert "0 targets" not in out and "passed, exit 0" not in out
    assert "alpha.example.test: interrupted (its process ended (exit 1) without a report: see output-1.txt)" in out
    assert "bravo.example.test: interrupted (its process ended (exit 1) without a report: see output-2.txt)" in out
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert "2 targets" in summary and "all 0 passed" not in summary and "interrupted" in summary


def test_a_repeated_ctrl_c_does_not_cut_short_the_wait_for_the_reports(tmp_path, monkeypatch, capsys):
    """-n under `edgeverify lab run`: the parent gets Ctrl-C twice (from the terminal, and passed on by the lab
    runner). The combined reports must still be read after the processes wrote their targets' own, so that both
    say the same: here each process writes its report only after the parent's first and second interrupt."""
    import threading

    from edgeverify import front
    from edgeverify.model import Outcome, Release, RunResult
    from edgeverify.model import CheckResult
    from edgeverify.reports import to_json

    paths, domains = [], ["alpha.example.test", "bravo.example.test"]
    for domain in domains:
        path = tmp_path / f"{domain}.yaml"
        path.write_text(f"domain: {domain}\n")
        paths.append(str(path))
    reports = tmp_path / "reports"
    interrupts = iter([KeyboardInterrupt(), KeyboardInterrupt()])
    written = threading.Event()

    class Child:
        def __init__(self, k: int) -> None:
            self.k = k

        def result(self, timeout: float | None = None) -> int:
            for exc in interrupts:  # the parent's main thread is interrupted twice while it waits
                raise exc
            if not written.is_set():  # the children end (interrupted), writing their reports now
                for domain in domains:
                    check = CheckResult(id="test_static.py::test_x", outcome=Outcome.INTERRUPTED, rule="static.served",
                                        suite="static")
                    run = RunResult(domain=domain, target=f"{domain}.yaml", target_name=domain, tool="t",
                                    started_at=1.0, finished_at=2.0, checks=(check,), release=Release(),
                                    interrupted="SIGINT")
                    (reports / domain).mkdir(parents=True, exist_ok=True)
                    (reports / domain / "edgeverify.json").write_text(json.dumps(to_json(run)))
                written.set()
            return 2

        def done(self) -> bool:
            return written.is_set()

        def exception(self) -> None:
            return None

    class Pool:
        def __init__(self, max_workers: int) -> None:
            self.k = 0

        def submit(self, fn, k):
            return Child(k)

        def shutdown(self, wait: bool) -> None:
            pass

    monkeypatch.setattr(front, "ThreadPoolExecutor", Pool)
    status = front._spread(paths, str(reports), [], 2)
    out = capsys.readouterr().out
    assert status == 2, out
    assert "before its report was written" not in out  # the reports were waited for, and read
    assert "alpha.example.test: interrupted (SIGINT), exit 2: 1 interrupted" in out, out
    summary = (reports / "summary.md").read_text()
    assert "| ⏹️ | alpha.example.test |" in summary and "| 1 |" in summary.split("alpha.example.test", 1)[1].split("\n")[0]
