"""The history feature's branches of the one exception tree rooted in edgeverify.errors."""

from __future__ import annotations

from ..errors import EdgeverifyError, TargetError


class HistoryError(EdgeverifyError):
    """The run-history database cannot be used (bad URL, unreachable server, schema newer than this code)."""


class KnownIssuesError(TargetError):
    """The known-issues file is invalid; bad input like a target file (exit 4)."""
