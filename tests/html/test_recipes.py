"""The CI recipes shipped in edgeverify/recipes: the workflows parse and have a workflow's shape, and the
edgeverify commands they contain run as written (check-target, shard, merge here; `edgeverify run` lines are
given to the front door's tests by recipe_commands)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from report_docs import make_doc

from edgeverify.recipes import names, read, recipe_commands, run_steps

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = [n for n in names() if n.endswith(".yml")]
CONTEXTS = {"github", "matrix", "vars", "secrets", "env", "steps", "needs", "inputs", "runner", "job", "strategy",
            "hashFiles"}
GOOD_TARGET = "domain: {domain}\nstatic:\n  pages: [/]\npropagation:\n  timeout: 600\n  release_marker: ${{BUILD_ID:-dev}}\n"
BAD_TARGET = "domain: www.example.com\nspa:\n  deeplinks: [/a]\n"


def shell(command: str, cwd: Path, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a recipe's line with bash, the installed `edgeverify` first on PATH, as a CI runner would
    (env: variables to set, or to remove when None)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    merged = {**os.environ, "PATH": path, **(env or {})}
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in merged.items() if v is not None})


def expand(line: str, **values: Any) -> str:
    """Replace GitHub `${{ matrix.x }}` expressions by values."""
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: str(values[m.group(1).split(".")[-1]]), line)


def workflow(name: str) -> dict[Any, Any]:
    return yaml.safe_load(read(name))


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_shape(name):
    doc = workflow(name)
    assert isinstance(doc.get("name"), str)
    triggers = doc.get(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    assert isinstance(triggers, dict) and triggers
    jobs = doc["jobs"]
    assert isinstance(jobs, dict) and jobs
    for job_name, job in jobs.items():
        assert re.fullmatch(r"[A-Za-z_][\w-]*", job_name)
        assert isinstance(job["runs-on"], str) and isinstance(job["steps"], list) and job["steps"]
        for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs") or []:
            assert need in jobs and need != job_name
        for step in job["steps"]:
            assert isinstance(step, dict) and (("run" in step) != ("uses" in step)), step
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]
            assert set(step) <= {"name", "run", "uses", "with", "env", "if", "id", "shell", "working-directory",
                                 "continue-on-error", "timeout-minutes"}, step
    for expr in re.findall(r"\$\{\{(.*?)\}\}", read(name)):
        assert re.split(r"[.(]", expr.strip())[0] in CONTEXTS, expr


def _action_step(job: dict[str, Any]) -> dict[str, Any]:
    """The step that uses the edgeverify action (OWNER/edgeverify@vN: the repository's own action.yml)."""
    return next(s for s in job["steps"] if re.fullmatch(r"OWNER/edgeverify@v\d+", str(s.get("uses", ""))))


def test_smoke_deploys_then_verifies_with_the_build_id_as_marker():
    job = workflow("github-smoke.yml")["jobs"]["deploy"]
    assert job["env"]["BUILD_ID"] == "${{ github.sha }}"
    runs = [str(s.get("run", "")) for s in job["steps"]]
    sync = next(i for i, r in enumerate(runs) if r.startswith("aws s3 sync"))
    invalidate = next(i for i, r in enumerate(runs) if "aws cloudfront create-invalidation" in r)
    action = _action_step(job)
    verify = job["steps"].index(action)
    assert sync < invalidate < verify
    assert action["with"]["targets"] == "targets/prod.yaml" and action["with"]["args"] == "--propagation-timeout 600"
    creds = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    assert creds["with"]["role-to-assume"] and workflow("github-smoke.yml")["permissions"]["id-token"] == "write"
    assert "cloudfront:GetDistribution" in read("github-smoke.yml")  # the audit's IAM policy, written out


def test_nightly_shards_then_merges_with_history_credentials_and_notification():
    doc = workflow("github-nightly.yml")
    verify, merge = doc["jobs"]["verify"], doc["jobs"]["merge"]
    shards = verify["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and verify["strategy"]["fail-fast"] is False
    action = _action_step(verify)
    assert action["with"]["shard"] == f"${{{{ matrix.shard }}}}/{len(shards)}"
    assert action["with"]["targets"] == "targets/*.yaml" and "--propagation-timeout 0" in action["with"]["args"]
    cache = next(s for s in verify["steps"] if str(s.get("uses", "")).startswith("actions/cache@"))
    assert cache["with"]["path"] in action["with"]["history"] and "matrix.shard" in cache["with"]["key"]
    assert "hashFiles('targets/*.yaml')" in cache["with"]["key"] and "github.run_id" in cache["with"]["key"]
    assert verify["steps"].index(cache) < verify["steps"].index(action)
    assert action["with"]["fail-on"] == "new" and "secrets.EDGEVERIFY_NOTIFY_URL" in action["with"]["notify"]
    assert any(str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@") for s in verify["steps"])
    assert merge["needs"] == "verify" and merge["if"] == "always()"
    download = next(s for s in merge["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    assert action["with"]["artifact-name"] == "reports-${{ matrix.shard }}" and download["with"]["pattern"] == "reports-*"
    assert f"edgeverify merge {download['with']['path']} -o reports" in recipe_commands("github-nightly.yml")


def test_recipe_commands_are_the_edgeverify_lines():
    assert recipe_commands("github-smoke") == []  # the action runs edgeverify
    assert recipe_commands("laptop.md") == ["edgeverify check-target site.yaml", "edgeverify run site.yaml --suite cors"]
    assert [c.split()[1] for c in recipe_commands("github-nightly")] == ["merge"]


def test_smoke_target_with_the_build_id_from_the_job(tmp_path):
    action = _action_step(workflow("github-smoke.yml")["jobs"]["deploy"])
    line = f"edgeverify check-target {action['with']['targets']}"
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "prod.yaml").write_text(GOOD_TARGET.format(domain="www.example.com").replace(
        "${BUILD_ID:-dev}", "${BUILD_ID}"))
    ok = shell(line, tmp_path, {"BUILD_ID": "0123abc"})
    assert ok.returncode == 0 and "valid target for www.example.com" in ok.stdout
    unset = shell(line, tmp_path, {"BUILD_ID": None})
    assert unset.returncode == 4 and "BUILD_ID is not set" in unset.stderr  # the job's env is what sets it
    (tmp_path / "targets" / "prod.yaml").write_text(BAD_TARGET)
    bad = shell(line, tmp_path, {"BUILD_ID": "0123abc"})
    assert bad.returncode == 4 and "Did you mean 'deep_links'?" in bad.stderr and "Traceback" not in bad.stderr


def test_nightly_shard_and_merge_lines_run(tmp_path):
    (merge_line,) = recipe_commands("github-nightly.yml")
    verify = workflow("github-nightly.yml")["jobs"]["verify"]
    n = len(verify["strategy"]["matrix"]["shard"])
    action = _action_step(verify)
    (tmp_path / "targets").mkdir()
    domains = [f"site{i}.example.test" for i in range(7)]
    for d in domains:
        (tmp_path / "targets" / f"{d}.yaml").write_text(GOOD_TARGET.format(domain=d))
    dealt = {}
    for k in range(1, n + 1):  # what `run --shard K/N` over the action's targets runs
        run = shell(f"edgeverify shard {expand(action['with']['shard'], shard=k)} {action['with']['targets']}", tmp_path)
        assert run.returncode == 0, run.stderr
        dealt[k] = run.stdout.split()
    every = [p for part in dealt.values() for p in part]
    assert sorted(every) == sorted(f"targets/{d}.yaml" for d in domains) and len(set(every)) == len(every)
    # what each verify job would upload: reports-K/<domain>/edgeverify.json; one target fails
    for k, paths in dealt.items():
        for p in paths:
            domain = Path(p).stem
            folder = tmp_path / "shards" / f"reports-{k}" / domain
            folder.mkdir(parents=True)
            doc = make_doc(domain, passing=domain != "site3.example.test", history=False, edges=False)
            (folder / "edgeverify.json").write_text(json.dumps(doc))
    run = shell(merge_line, tmp_path)
    assert run.returncode == 1 and "1 not passed: site3.example.test" in run.stdout, run.stdout + run.stderr
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert sum(f"| {d} |" in summary for d in domains) == len(domains)
    assert (tmp_path / "reports" / "summary.html").exists()
    assert all((tmp_path / "reports" / d / "report.html").exists() for d in domains)
    fixed = tmp_path / "shards" / next(f"reports-{k}" for k, ps in dealt.items()
                                       if "targets/site3.example.test.yaml" in ps) / "site3.example.test"
    (fixed / "edgeverify.json").write_text(json.dumps(make_doc("site3.example.test", passing=True)))
    assert shell(merge_line, tmp_path).returncode == 0


def _block(text: str, needle: str) -> str:
    return next(b for b in re.findall(r"```\w*\n(.*?)```", text, re.S) if needle in b)


def test_laptop_lines_and_pre_commit_hook_run(tmp_path):
    laptop = read("laptop.md")
    repo = tmp_path / "repo"
    (repo / "targets").mkdir(parents=True)
    (repo / "site.yaml").write_text(GOOD_TARGET.format(domain="www.example.com"))
    check = recipe_commands("laptop.md")[0]
    assert shell(check, repo).returncode == 0
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, timeout=30)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(_block(laptop, "#!/bin/sh"))
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    (repo / "targets" / "good.yaml").write_text(GOOD_TARGET.format(domain="www.example.com"))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, timeout=30)
    ok = shell(" ".join(git + ["commit", "-qm", "good"]), repo)
    assert ok.returncode == 0, ok.stderr
    (repo / "targets" / "bad.yaml").write_text(BAD_TARGET)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, timeout=30)
    refused = shell(" ".join(git + ["commit", "-qm", "bad"]), repo)
    assert refused.returncode != 0 and "targets/bad.yaml" in refused.stderr and "deep_links" in refused.stderr
    # the same with the pre-commit framework's local hook: its entry gets the staged file names
    entry = yaml.safe_load(_block(laptop, "repos:"))["repos"][0]["hooks"][0]["entry"]
    assert shell(f"{entry} targets/good.yaml", repo).returncode == 0
    framework = shell(f"{entry} targets/good.yaml targets/bad.yaml", repo)
    assert framework.returncode == 1 and "targets/bad.yaml" in framework.stderr


def test_recipe_command_lists_and_prints(tmp_path):
    listing = shell("edgeverify recipe", tmp_path)
    assert listing.returncode == 0 and [line.split()[0] for line in listing.stdout.splitlines()] == names()
    printed = shell("edgeverify recipe github-smoke", tmp_path)
    assert printed.returncode == 0 and printed.stdout == read("github-smoke.yml")
    unknown = shell("edgeverify recipe github-nightli", tmp_path)
    assert unknown.returncode == 4 and "Did you mean" in unknown.stderr and "Traceback" not in unknown.stderr


def test_templates_and_recipes_are_package_data():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {"edgeverify.html", "edgeverify.recipes"} <= set(setuptools["packages"])
    shipped = {p for package, patterns in setuptools["package-data"].items() for pattern in patterns
               for p in (ROOT / package.replace(".", "/")).glob(pattern)}
    needed = set((ROOT / "edgeverify" / "html" / "templates").glob("*")) | {
        p for p in (ROOT / "edgeverify" / "recipes").glob("*") if p.suffix in (".yml", ".md")}
    assert needed and needed <= shipped
    assert all(step.get("job") for name in WORKFLOWS for step in run_steps(name))
