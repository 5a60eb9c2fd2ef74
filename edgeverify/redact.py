"""Secrets come from the environment; this is the one place that keeps them out of output."""

from __future__ import annotations

import re

# Values interpolated from ${VAR}, mapped to the placeholder shown instead.
_SECRETS: dict[str, str] = {}
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"})


def register_secret(value: str, name: str) -> None:
    """Remember that `value` came from environment variable `name`."""
    if len(value) >= 4:  # shorter values (ports, flags) would redact innocent text
        _SECRETS[value] = "${" + name + "}"


def redact(text: str) -> str:
    """Replace every known secret value in `text` by its ${VAR} placeholder."""
    for value in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(value, _SECRETS[value])
    return text


def redact_header(name: str, value: str) -> str:
    """A header value safe to show: secrets become ${VAR}, other credentials are masked."""
    shown = redact(value)
    if name.lower() in SENSITIVE_HEADERS and shown == value:
        scheme = re.match(r"^(\w+)\s", value)
        return (scheme.group(1) + " " if scheme else "") + "<redacted>"
    return shown
