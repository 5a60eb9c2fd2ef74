"""Fixtures for the HTML report tests."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from report_docs import _LOADED, make_doc


@pytest.fixture
def failing_doc() -> dict[str, Any]:
    return copy.deepcopy(_LOADED)


@pytest.fixture
def doc_factory() -> Callable[..., dict[str, Any]]:
    return make_doc
