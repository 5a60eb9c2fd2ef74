"""Where the template fixtures are (a module of its own name: every test folder has a conftest)."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "templates"
