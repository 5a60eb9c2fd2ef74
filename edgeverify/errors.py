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


class NotApplicable(EdgeverifyError):
    """The check does not apply to this target (no AWS named, no API behavior): it ends as skipped, saying why."""


class CouldNotJudge(EdgeverifyError):
    """A check had no whole answer to judge (no response, a broken or cut body, the run's deadline).

    It ends the check as an error, never as a pass or a failure of the rule.
    """

    def __init__(self, reason: str, exchange: object | None = None) -> None:
        super().__init__(reason)
        self.exchange = exchange
