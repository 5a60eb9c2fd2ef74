"""One exception tree for the whole tool."""

from __future__ import annotations


class EdgeverifyError(Exception):
    """Base of every error edgeverify raises on purpose."""


class TargetError(EdgeverifyError):
    """The target file (or a command-line override) is invalid; never retried."""


class LabError(EdgeverifyError):
    """The local edge lab could not start or stop."""


class AwsError(EdgeverifyError):
    """An AWS call failed in a way the user must fix (credentials, ids, permissions)."""
