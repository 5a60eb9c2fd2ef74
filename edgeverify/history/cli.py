"""`edgeverify history`: per-rule pass rates and convergence-time percentiles per ISO week, as a text table."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import EdgeverifyError
from .known import load_known_issues
from .record import utc_date
from .store import Clock, Database, history_url, open_db, to_epoch
from .trends import select_targets, table, weekly


def main(argv: list[str], clock: Clock | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgeverify history", description="Per-rule pass rates and convergence "
                                     "time percentiles (p50/p90) per ISO week, from the run history.")
    parser.add_argument("--db", metavar="URL", help="sqlite:///PATH or postgresql://... (default: $EDGEVERIFY_HISTORY, "
                        "else REPORTS-DIR/history.sqlite, next to the runs' reports)")
    parser.add_argument("--reports-dir", default="reports", metavar="DIR",
                        help="the reports folder the runs wrote (their --reports-dir; default reports)")
    parser.add_argument("--target", metavar="NAME", help="only this target (its name or domain)")
    parser.add_argument("--since", metavar="DATE", help="runs started on or after this date (YYYY-MM-DD)")
    parser.add_argument("--weeks", type=int, default=8, metavar="N",
                        help="without --since: the last N weeks (default 8)")
    parser.add_argument("--latency", action="store_true", help="instead: latency per edge and kind of request per "
                        "week (median and worst of the runs' p95), and the newest run against the median of each "
                        "edge's last runs, regressions flagged")
    parser.add_argument("--known-issues", metavar="FILE", help="instead: validate a known-issues file and list "
                        "its entries with their expiry (exit 4 when invalid)")
    args = parser.parse_args(argv)
    url = history_url(args.db, args.reports_dir)
    try:
        if args.known_issues:
            return _known(args.known_issues, clock)
        if args.weeks < 1:
            raise EdgeverifyError("--weeks must be 1 or more.")
        since = to_epoch(args.since, "--since") if args.since else (clock or time.time)() - args.weeks * 7 * 86400
        if url.startswith("sqlite://") or "://" not in url:
            path = Path(url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url)
            if not path.is_file():
                raise EdgeverifyError(f"no run history at {path} (runs record it with --history; "
                                      "or pass --db URL / set EDGEVERIFY_HISTORY).")
        with open_db(url) as db:
            if args.latency:
                return _latency(db, args.target, since)
            trends = weekly(db, target=args.target, since=since)
            shown = db.shown
    except EdgeverifyError as exc:
        print(f"edgeverify history: {exc}", file=sys.stderr)
        return 4
    day = time.strftime("%Y-%m-%d", time.gmtime(since))
    if not trends:
        print(f"No runs{' of ' + args.target if args.target else ''} since {day} in {shown}.")
        return 0
    print(f"Run history in {shown}, since {day}. Pass rate: passed / judged (skips left out); (runs): whole "
          "runs without failures; conv s: seconds until a retried check (or the run) converged.\n")
    print(table(trends), end="")
    return 0


def _latency(db: Database, target: str | None, since: float) -> int:
    from .latency import MIN_RUNS, REGRESSION_MS, REGRESSION_RATIO, TREND_RUNS
    from .latency import table as latency_table
    from .latency import weekly as latency_weekly

    day = time.strftime("%Y-%m-%d", time.gmtime(since))
    print(f"Latency per edge in {db.shown}, since {day}: each run's p95 in ms per edge (its POP, else its address) "
          f"and kind of request. A regression: the newest run's p95 above the median of the edge's last {TREND_RUNS} "
          f"runs by +{(REGRESSION_RATIO - 1) * 100:.0f} % and +{REGRESSION_MS:g} ms, with {MIN_RUNS} runs or more.\n")
    for target_id, name, domain in select_targets(db, target):
        weeks, latest, latest_at = latency_weekly(db, int(target_id), since)
        print("\n".join(latency_table(name, domain, weeks, latest, latest_at)))
    return 0


def _known(path: str, clock: Clock | None) -> int:
    known = load_known_issues(path)
    today = utc_date((clock or time.time)())
    print(f"{path}: {len(known.issues)} known issue{'s' if len(known.issues) != 1 else ''}")
    for issue in known.issues:
        state = ", expired" if issue.expired(today) else ""
        print(f"  line {issue.line}: {issue.rule} {issue.item}: accepted until {issue.expires.isoformat()}{state} "
              f"({issue.reason}; owner {issue.owner})")
    return 0
