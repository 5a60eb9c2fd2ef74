"""The tool installs from a wheel and runs from anywhere: the suites ship in the package, the user's own
pytest configuration and tests stay out of the run, and a run that selects nothing says so (exit 4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"


def test_every_package_folder_is_listed_for_the_wheel():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "edgeverify").rglob("__init__.py")}
    assert found | {"edgeverify.suites"} == listed, found ^ listed


def _user_repository(folder: Path) -> Path:
    """A platform team's repository: its own pyproject, conftest and a failing test of its own."""
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\naddopts = "-x"\n')
    (folder / "conftest.py").write_text("import pytest\n\n\n@pytest.fixture\ndef target():\n    return 'theirs'\n")
    (folder / "tests").mkdir()
    (folder / "tests" / "test_theirs.py").write_text("def test_theirs():\n    assert False, 'the user test ran'\n")
    return folder


def _ids(reports: Path) -> set[str]:
    doc = json.loads((reports / "edgeverify.json").read_text())
    assert doc["schema"] == 3
    return {c["id"] for c in doc["checks"]}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with edgeverify installed from a wheel built from this checkout."""
    where = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(where / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((where / "dist").glob("edgeverify-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "edgeverify/suites/test_cors.py" in names and "edgeverify/run.ini" in names
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # at the versions CI proved together (.ci/constraints.txt), so an upstream release cannot fail a commit that
    # did not change; EDGEVERIFY_TEST_LATEST=1 installs the newest versions pyproject allows instead
    pinned = [] if os.environ.get("EDGEVERIFY_TEST_LATEST") else ["-c", str(ROOT / ".ci" / "constraints.txt")]
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *pinned, str(wheel)], check=True, capture_output=True, timeout=600)
    return venv


def test_the_wheel_runs_every_suite_from_an_unrelated_folder_in_both_option_forms(installed, lab, tmp_path):
    site = tmp_path / "elsewhere" / "site.yaml"
    site.parent.mkdir()
    shutil.copy(LAB_TARGET, site)
    repo = _user_repository(tmp_path / "their-repo")
    env = {**os.environ, **lab.edge().env(), "PATH": f"{installed / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    runs = {
        "space": ["pytest", "--target", str(site), "--reports-dir", str(tmp_path / "out-space")],
        "equals": ["pytest", f"--target={site}", f"--reports-dir={tmp_path / 'out-equals'}"],
        "front": ["edgeverify", "run", str(site), "--reports-dir", str(tmp_path / "out-front")],
    }
    seen = {}
    for name, cmd in runs.items():
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, f"{name}: {proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        assert "test_theirs" not in proc.stdout and "the user test ran" not in proc.stdout
        assert str(installed) in subprocess.run([str(installed / "bin" / "python"), "-c",
                                                 "import edgeverify.suites as s; print(s.__path__[0])"],
                                                capture_output=True, text=True, env=env, cwd=repo).stdout
        seen[name] = _ids(tmp_path / f"out-{name}")
    assert seen["space"] == seen["equals"] == seen["front"] and len(seen["space"]) > 40
    assert not any((installed / "lib").rglob(".pytest_cache"))  # nothing written into site-packages


def test_from_the_clone_a_target_elsewhere_collects_only_the_suites(lab, tmp_path):
    elsewhere = tmp_path / "prod.yaml"
    shutil.copy(LAB_TARGET, elsewhere)
    (tmp_path / "out").mkdir()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--target", str(elsewhere), "--reports-dir",
                           str(tmp_path / "out"), "--co", "-q"], cwd=ROOT, env={**os.environ, **lab.edge().env()},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    items = [line for line in proc.stdout.splitlines() if "::" in line]
    suite_files = {p.name for p in (ROOT / "suites").glob("test_*.py")}
    assert len(items) > 40 and {Path(line.split("::")[0]).name for line in items} <= suite_files, items[:5]
    assert not any("tests/" in line for line in items)


def test_k_selects_a_rule_by_its_id_and_an_empty_selection_is_a_clear_error(lab, tmp_path):
    env = {**os.environ, **lab.edge().env()}
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--target={LAB_TARGET}",
            f"--reports-dir={tmp_path}", "--propagation-timeout=0", "-q"]
    proc = subprocess.run([*base, "-k", "cache.api_never_hit"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout
    assert [c["rule"] for c in json.loads((tmp_path / "edgeverify.json").read_text())["checks"]] == ["cache.api_never_hit"]
    proc = subprocess.run([*base, "-k", "no_such_rule"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 4, proc.stdout
    assert "no check was selected by -k 'no_such_rule'" in proc.stdout
