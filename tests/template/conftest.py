"""Template tests: the fixtures' folder, a helper writing a broken copy of a fixture, and the moto server
fixtures of tests/aws (for the test comparing a template's findings with the deployed distribution's)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from template_fixtures import TEMPLATES

_AWS = Path(__file__).resolve().parents[1] / "aws"
if str(_AWS) not in sys.path:
    sys.path.insert(0, str(_AWS))  # moto_configs, as tests/aws imports it
_spec = importlib.util.spec_from_file_location("aws_conftest_for_templates", _AWS / "conftest.py")
assert _spec is not None and _spec.loader is not None
_aws_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_aws_conftest)
moto_endpoint = _aws_conftest.moto_endpoint
aws = _aws_conftest.aws
cf = _aws_conftest.cf


@pytest.fixture
def broken(tmp_path):
    """broken(fixture, old, new): a copy of the fixture with `old` replaced by `new` once (it must be there)."""
    def make(name: str, old: str, new: str, filename: str | None = None) -> Path:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        assert text.count(old) >= 1, f"{old!r} not in {name}"
        path = tmp_path / (filename or name)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return path
    return make
