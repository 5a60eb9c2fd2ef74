"""Run history: every run recorded (SQLite or PostgreSQL), compared with the previous runs of its target.

    from edgeverify import history
    known = history.load_known_issues(path)                  # KnownIssuesError (a TargetError): exit 4
    url = history.history_url(option, reports_dir)            # option, $EDGEVERIFY_HISTORY, reports/history.sqlite
    doc["history"] = history.regression_view(doc, url, known=known)
    history.record_run(doc, url)                              # accepted failures taken from doc["history"]
    status = history.exit_code(doc, doc["history"], fail_on="new")
"""

from __future__ import annotations

from .errors import HistoryError, KnownIssuesError
from .known import KnownIssue, KnownIssues, load_known_issues
from .record import DEFAULT_RETENTION, Retention, RunId, record_run, record_runs
from .retention import Pruned, prune
from .store import history_url, open_db
from .view import accepted_note, exit_code, markdown, regression_view

__all__ = ["DEFAULT_RETENTION", "HistoryError", "KnownIssue", "KnownIssues", "KnownIssuesError", "Pruned",
           "Retention", "RunId", "accepted_note", "exit_code", "history_url", "load_known_issues", "markdown",
           "open_db", "prune", "record_run", "record_runs", "regression_view"]
