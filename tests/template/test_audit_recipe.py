"""The pull-request recipe (edgeverify recipe github-audit): its audit step, run with bash in a git repository
as the runner would, annotates only the changed templates that hold a distribution and fails on a finding."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from edgeverify.recipes import run_steps

from template_fixtures import TEMPLATES


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}).stdout.strip()


def audit_step(repo: Path, base: str) -> subprocess.CompletedProcess[str]:
    step = next(s for s in run_steps("github-audit.yml") if s.get("name") == "Audit the changed templates")
    summary = repo / "summary.md"
    env = {**os.environ, "BASE": base, "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_recipe_annotates_the_changed_template(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shutil.copy(TEMPLATES / "good.yaml", repo / "site.yaml")
    (repo / "other.json").write_text('{"Resources": {}}')
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    result = audit_step(repo, base)  # nothing changed
    assert result.returncode == 0 and "no changed template holds a CloudFront distribution" in result.stdout
    shutil.copy(TEMPLATES / "seed.yaml", repo / "site.yaml")  # the pull request brings the seed's faults
    (repo / "lambda.yaml").write_text("Resources:\n  F:\n    Type: AWS::S3::Bucket\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "change")
    result = audit_step(repo, base)
    assert result.returncode == 1, result.stdout + result.stderr
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error file=site.yaml,")]
    assert ",line=57,title=config.shadowed_behaviors::" in "\n".join(annotations)
    assert "lambda.yaml" not in result.stdout
    summary = (repo / "summary.md").read_text()
    assert summary.startswith("## edgeverify audit: failed\n") and "| `config.api_cache_disabled` | site.yaml:52" in summary
