"""Request paths the suites probe with: unique per attempt, so no cache or log hides a fault."""

from __future__ import annotations

import secrets

from .evidence import Request
from .target import ApiCall, Target


def token() -> str:
    return secrets.token_hex(6)


def unique_path(prefix: str = "/__edgeverify/probe") -> str:
    """A path and query no one has asked for before (so a redirect that drops either shows)."""
    t = token()
    return f"{prefix}-{t}?ev={t}&x=1"


def error_probe_paths(target: Target) -> list[str]:
    """Paths that a correct edge answers with an error: a missing asset-like object, then an unknown API route."""
    return [f"/__edgeverify/missing-{token()}.js", target.api.probe_path]


def api_call_request(target: Target, call: ApiCall) -> Request:
    """The request of a declared API call, built in this one place so every check that judges it shares it.

    When the call's path is one a browser calls cross-origin (cors.paths), it carries the first allowed
    Origin, as the browser's call would: the api and cors checks then judge the same single exchange,
    which matters for a POST that may go out only once.
    """
    headers = dict(call.headers)
    if target.cors is not None and target.cors.allowed_origins and call.path in target.cors.paths:
        headers.setdefault("Origin", target.cors.allowed_origins[0])
    return Request.make(call.method, call.path, headers=headers, json=call.json, repeat_safe=call.may_repeat)
