"""The suites' own fixtures: the plugin's, declared again here so that a `target` or `edge` fixture in the
user's conftest.py (closer to their rootdir than the plugin) can never stand in for them."""

import pytest

from edgeverify.plugin import edge_for, target_of


@pytest.fixture(scope="session")
def target(pytestconfig):
    """The validated target, with command-line overrides applied."""
    return target_of(pytestconfig)


@pytest.fixture(scope="session")
def edge(target):
    """The check's evidence (an Attempt, which the engine gives each check)."""
    return edge_for(target)
