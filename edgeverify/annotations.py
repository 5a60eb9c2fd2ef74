"""The GitHub Action's last step (action.yml): annotations, outputs, from the reports a run wrote.

`python -m edgeverify.annotations REPORTS_DIR [--max N] [--exit-status S]` reads every edgeverify.json in the
reports folder (one target's, or one per target below it), prints one `::error title=<rule id>,file=<target>::`
workflow command per failing check, worst first, at most N (then one warning saying how many more), and
writes the outputs `verdict`, `failed` and `report` to $GITHUB_OUTPUT. The step summary is written by the
run itself, once (reports.py). Everything shown comes from the RunResults, whose text is redacted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .model import ExitCode, Outcome, RunResult, fleet_exit_status
from .reports import HTML_NAME, JSON_NAME, read_report

DEFAULT_MAX = 10  # GitHub shows at most 10 error annotations per step
_ORDER = {Outcome.FAILED: 0, Outcome.COULD_NOT_JUDGE: 1, Outcome.INTERRUPTED: 2}


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the runner reads it (actions/toolkit command.ts)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def find_reports(folder: Path) -> list[RunResult]:
    """The runs reported in a reports folder: its own edgeverify.json, else one per target folder below it."""
    top = folder / JSON_NAME
    paths = [top] if top.exists() else sorted(folder.glob(f"*/{JSON_NAME}"))
    return [read_report(p) for p in paths]


def error_lines(runs: list[RunResult], limit: int = DEFAULT_MAX, workspace: str | None = None) -> list[str]:
    """One ::error per failing check, worst first (failed before could-not-judge before interrupted; fail-severity
    rules first), at most `limit`, then a ::warning for the rest."""
    bad = [(run, c) for run in runs for c in run.bad()]
    bad.sort(key=lambda rc: (_ORDER[rc[1].outcome], rc[1].severity != "fail", rc[0].domain, rc[1].id))
    lines = []
    for run, c in bad[:limit]:
        target = run.target
        if workspace and os.path.isabs(target):
            try:
                target = os.path.relpath(target, workspace)
            except ValueError:
                pass
        first = (c.finding.cause if c.finding and c.finding.cause else None)
        message = f"{run.domain}: {c.key or c.id} {c.outcome.label}"
        body = (c.message or "").strip()
        if first:
            message += f". Likely cause: {first}"
        if body:
            message += f"\n{body}"
        title = c.rule or c.id
        lines.append(f"::error title={escape_property(title)},file={escape_property(target)}::"
                     f"{escape_data(message[:4000])}")
    if len(bad) > limit:
        lines.append(f"::warning title=edgeverify::{len(bad) - limit} more failing checks are not annotated; "
                     "the step summary and the reports artifact list every one")
    return lines


def outputs(runs: list[RunResult], folder: Path, exit_status: int | None) -> dict[str, str]:
    codes = [r.exit_status for r in runs] + ([ExitCode(exit_status)] if exit_status in set(ExitCode) else [])
    status = fleet_exit_status(codes) if codes else ExitCode.USAGE
    report = folder / (HTML_NAME if len(runs) == 1 and (folder / JSON_NAME).exists() else "summary.html")
    return {"verdict": status.verdict, "exit-status": str(int(status)),
            "failed": str(sum(len(r.bad()) for r in runs)), "report": str(report if report.exists() else folder)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edgeverify.annotations", description=__doc__.split("\n")[0])
    p.add_argument("reports_dir")
    p.add_argument("--max", type=int, default=DEFAULT_MAX, help="at most this many annotations (default 10)")
    p.add_argument("--exit-status", type=int, default=None, help="the run's exit status (bad input leaves no report)")
    args = p.parse_args(argv)
    folder = Path(args.reports_dir)
    try:
        runs = find_reports(folder) if folder.is_dir() else []
    except Exception as exc:  # a report that cannot be read: say so as an annotation, still write the outputs
        print(f"::error title=edgeverify::{escape_data(str(exc))}")
        runs = []
    for line in error_lines(runs, max(args.max, 0), os.environ.get("GITHUB_WORKSPACE")):
        print(line)
    if not runs and args.exit_status == ExitCode.USAGE:
        print("::error title=edgeverify: bad input::the run refused its input (exit 4) before any check ran; the "
              "step log above names the file, line and key (or the option) to fix")
    found = outputs(runs, folder, args.exit_status)
    out = os.environ.get("GITHUB_OUTPUT")
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.writelines(f"{k}={v}\n" for k, v in found.items())
    print(f"edgeverify: verdict {found['verdict']}, {found['failed']} failing checks, report {found['report']}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
