"""The package type-checks and has no unused or undefined names (mypy, ruff), as CI enforces."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_finds_no_type_errors():
    run = subprocess.run([sys.executable, "-m", "mypy", "edgeverify"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_finds_no_unused_or_undefined_names():
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "F,E9", "edgeverify", "suites", "tests"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
