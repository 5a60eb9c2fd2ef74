"""Run history: every run recorded (SQLite or PostgreSQL), compared with the previous runs of its target.

    from edgeverify import history
    url = history.history_url(option, reports_dir)            # option, $EDGEVERIFY_HISTORY, reports/history.sqlite
    view = history.regression_view(doc, url)                  # doc: a schema-3 report (reports.to_json)
    history.record_run(doc, url)                              # accepted failures: the checks' outcome "accepted"

The view's `latency` entry sets the run's p95 per edge and kind against the median of the edge's last runs
(history/latency.py); a regression becomes a warning of the run in `compare_and_record`.

Known issues are applied where outcomes are decided (model.outcome); the exit status is model.exit_status.
"""

from __future__ import annotations

from .errors import HistoryError, KnownIssuesError
from .known import KnownIssue, KnownIssues, load_known_issues
from .record import RunId, record_run, record_runs
from .retention import DEFAULT_RETENTION, Pruned, Retention, prune
from .store import history_url, open_db
from .view import accepted_note, compare_and_record, markdown, regression_view, terminal_lines

__all__ = ["DEFAULT_RETENTION", "HistoryError", "KnownIssue", "KnownIssues", "KnownIssuesError", "Pruned",
           "Retention", "RunId", "accepted_note", "compare_and_record", "history_url", "load_known_issues", "markdown",
           "open_db", "prune", "record_run", "record_runs", "regression_view", "terminal_lines"]
