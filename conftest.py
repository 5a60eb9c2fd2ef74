"""Wires the edgeverify plugin into a clone that is not pip-installed (installed, its entry point does it)."""

from importlib.metadata import PackageNotFoundError, distribution

try:
    distribution("edgeverify")
except PackageNotFoundError:
    pytest_plugins = ["edgeverify.plugin"]
