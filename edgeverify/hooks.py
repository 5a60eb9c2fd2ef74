"""Hooks edgeverify adds to pytest (a conftest.py or plugin may implement them)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_edgeverify_transport(target: Any, deadline: float) -> Any:
    """The transport the run sends through (transport.Transport), or None for the libcurl client.

    `deadline`: the run's deadline as a time.monotonic() value. Tests return a transport.ReplayTransport.
    """
