"""Secrets come from the environment; this is the one place that keeps them out of output.

A secret is replaced wherever it appears in raw, URL-encoded, JSON-escaped or base64 form: it can
sit in a header, a path, a query or a JSON body, and each of those encodes it differently.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

# Forms of values interpolated from ${VAR}, mapped to the placeholder shown instead.
_SECRETS: dict[str, str] = {}
_pattern: re.Pattern[str] | None = None  # every form, longest first, in one alternation (rebuilt on register)
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"})
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what an HTTP client leaves unescaped in a URL it sends (requests' requote_uri)
MIN_SECRET = 4  # shorter values (ports, flags) would redact innocent text


def register_secret(value: str, name: str) -> None:
    """Remember that `value` came from environment variable `name` (every encoding of it)."""
    placeholder = "${" + name + "}"
    for raw in {value, value.strip()}:
        if len(raw) < MIN_SECRET:
            continue
        forms = {raw, quote(raw, safe=""), quote(raw), quote_plus(raw), quote(raw, safe=_URI_SAFE),
                 json.dumps(raw)[1:-1],
                 json.dumps(raw, ensure_ascii=False)[1:-1], base64.b64encode(raw.encode()).decode().rstrip("="),
                 repr(raw)[1:-1], raw.encode("unicode_escape").decode()}
        for form in forms:
            if len(form) >= MIN_SECRET:
                _SECRETS[form] = placeholder
    global _pattern
    _pattern = re.compile("|".join(re.escape(v) for v in sorted(_SECRETS, key=len, reverse=True)))


@contextmanager
def secrets_scope() -> Iterator[None]:
    """Secrets registered inside are forgotten on leaving (tests that load throwaway targets)."""
    global _pattern
    saved, saved_pattern = dict(_SECRETS), _pattern
    try:
        yield
    finally:
        _SECRETS.clear()
        _SECRETS.update(saved)
        _pattern = saved_pattern


def has_secrets() -> bool:
    """Whether any secret value is known (text can hold one)."""
    return bool(_SECRETS)


def redact(text: str) -> str:
    """Replace every known secret value (in any of its forms) in `text` by its ${VAR} placeholder."""
    if _pattern is None:
        return text
    return _pattern.sub(lambda m: _SECRETS[m.group(0)], text)


def redact_header(name: str, value: str) -> str:
    """A header value safe to show: secrets become ${VAR}, other credentials are masked."""
    shown = redact(value)
    if name.lower() in SENSITIVE_HEADERS and shown == value:
        scheme = re.match(r"^(\w+)\s", value)
        return (scheme.group(1) + " " if scheme else "") + "<redacted>"
    return shown


def redact_deep(data: object) -> object:
    """A JSON-ready structure with every string redacted (for reports written as a whole)."""
    if not _SECRETS:
        return data
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, list):
        return [redact_deep(v) for v in data]
    if isinstance(data, tuple):
        return [redact_deep(v) for v in data]
    if isinstance(data, dict):
        return {redact(str(k)): redact_deep(v) for k, v in data.items()}
    return data
