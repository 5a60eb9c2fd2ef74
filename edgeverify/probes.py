"""Request paths the suites probe with: unique per attempt, so no cache or log hides a fault."""

from __future__ import annotations

import secrets

from .target import Target


def token() -> str:
    return secrets.token_hex(6)


def unique_path(prefix: str = "/__edgeverify/probe") -> str:
    """A path and query no one has asked for before (so a redirect that drops either shows)."""
    t = token()
    return f"{prefix}-{t}?ev={t}&x=1"


def error_probe_paths(target: Target) -> list[str]:
    """Paths that a correct edge answers with an error: a missing asset-like object, then an unknown API route."""
    return [f"/__edgeverify/missing-{token()}.js", target.api.probe_path]
