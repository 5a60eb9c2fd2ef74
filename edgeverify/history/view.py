"""The regression view: a run compared with the previous runs of the same target (the report's `history` block)."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .known import KnownIssues
from .latency import markdown as latency_markdown
from .latency import terminal_lines as latency_lines
from .latency import view as latency_view
from .latency import warnings as latency_warnings
from .record import FAILING, LETTER, record_run, accepted_ids, convergence, started_epoch, target_identity, utc_date
from .store import Clock, Database, open_db, to_iso

if TYPE_CHECKING:
    from ..model import RunResult

FLAKY_CHANGES = 2  # K: more status changes than this ...
FLAKY_RUNS = 10  # N: ... in this many runs (the current one included) marks a check flaky
TREND_RUNS = 30
OK = frozenset("PA")


def regression_view(doc: dict[str, Any], url: str | None, *, known: KnownIssues | None = None,
                    flaky_changes: int = FLAKY_CHANGES, flaky_runs: int = FLAKY_RUNS, trend_runs: int = TREND_RUNS,
                    clock: Clock | None = None) -> dict[str, Any]:
    """The `history` block for `doc` against the runs of the same target that started before it.

    Works before or after `record_run(doc, ...)`. url None: no database (only `accepted` and this run's trend)."""
    today = utc_date((clock or time.time)())
    now_status = {str(c["id"]): LETTER[c["outcome"]] for c in doc.get("checks", [])
                  if c.get("id") and c.get("outcome") in LETTER}
    accepted = _accepted(doc, known, today)
    waived = accepted_ids(doc, known, today)
    failing = sorted(cid for cid, s in now_status.items() if s in FAILING and cid not in waived)
    started = started_epoch(doc)
    marker = (doc.get("release") or {}).get("marker")
    current = _Run(started, marker, convergence(doc), now_status, _suite_failures(doc))
    previous: list[_Run] = []
    last_pass: _Run | None = None
    first_seen: dict[str, float] = {}
    if url is not None:
        with open_db(url) as db:
            target_id = _target_id(db, doc)
            if target_id is not None:
                previous = _previous(db, target_id, started, max(flaky_runs, trend_runs, 2) - 1)
                last_pass = _last_pass(db, target_id, started, previous)
                ongoing_ids = [c for c in failing if previous and previous[0].status.get(c) in FAILING]
                first_seen = _first_seen(db, target_id, started, ongoing_ids, previous)
            latency = latency_view(doc, db, target_id, started)
    else:
        latency = latency_view(doc, None, None, started)
    last = previous[0] if previous else None
    first = last is None  # nothing to compare with: no failure is "new" (--fail-on new then fails on any)
    return {
        "first_run": first,
        "new_since_last": [c for c in failing if last is not None and last.status.get(c) not in FAILING],
        "new_since_last_pass": [] if first else [c for c in failing if last_pass is None
                                                 or last_pass.status.get(c) not in FAILING],
        "recovered": sorted(c for c, s in now_status.items() if s in OK and last and last.status.get(c) in FAILING),
        "ongoing": [{"id": c, "first_seen": to_iso(first_seen[c])} for c in failing if c in first_seen],
        "flaky": _flaky([*reversed(previous[:max(flaky_runs - 1, 0)]), current], flaky_changes),
        "accepted": accepted,
        "trend": [r.trend() for r in [*reversed(previous[:max(trend_runs - 1, 0)]), current]],
        "latency": latency,  # p95 per edge against the median of its last runs (history/latency.py)
    }


def compare_and_record(result: RunResult, option: str | None, reports_dir: Path) -> RunResult:
    """The run compared with its target's earlier runs, then recorded; a failure to do either is said in the
    result (history_error), never fatal. A latency regression is a warning of the result (it fails nothing)."""
    from dataclasses import replace

    from ..engine import with_history
    from ..errors import EdgeverifyError
    from ..redact import redact
    from ..reports import to_json

    from .store import history_url

    try:
        url = history_url(option, reports_dir)
        view = regression_view(to_json(result), url)
        compared = with_history(result, view, None)
        regressions = tuple(redact(w) for w in latency_warnings(view.get("latency")))
        if regressions:
            compared = replace(compared, warnings=(*compared.warnings, *regressions))
        record_run(to_json(compared), url)
        return compared
    except EdgeverifyError as exc:
        return with_history(result, None, str(exc))


def accepted_note(entry: dict[str, Any]) -> str:
    """The line a report prints for an accepted failure: "accepted until DATE, expired" once past its date."""
    if entry.get("expired"):
        return f"accepted until {entry['expires']}, expired ({entry['reason']}; owner {entry['owner']})"
    return f"accepted until {entry['expires']}: {entry['reason']} (owner {entry['owner']})"


class _Run:
    __slots__ = ("convergence", "failures", "release", "started", "status")

    def __init__(self, started: float, release: str | None, convergence: float | None, status: dict[str, str],
                 failures: dict[str, int]) -> None:
        self.started, self.release, self.convergence = started, release, convergence
        self.status, self.failures = status, failures

    def trend(self) -> dict[str, Any]:
        return {"started_at": to_iso(self.started), "release": self.release, "convergence_s": self.convergence,
                "failures": dict(sorted(self.failures.items()))}


def _accepted(doc: dict[str, Any], known: KnownIssues | None, today: Any) -> list[dict[str, Any]]:
    if known is None:  # as the run decided (model.outcome): the checks a known issue covers
        return [{"id": str(c["id"]), "rule": c.get("rule"), **c["acceptance"]}
                for c in sorted(doc.get("checks", []), key=lambda c: str(c.get("id"))) if c.get("acceptance")]
    found = []
    for check in sorted(doc.get("checks", []), key=lambda c: str(c.get("id"))):
        if LETTER.get(check.get("outcome", "")) not in FAILING:
            continue
        issue = known.match(check)
        if issue is not None:
            found.append({"id": str(check["id"]), "rule": issue.rule, "reason": issue.reason, "owner": issue.owner,
                          "expires": issue.expires.isoformat(), "expired": issue.expired(today)})
    return found


def _suite_failures(doc: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {str(s): 0 for s in (doc.get("suites") or {})}
    for c in doc.get("checks", []):
        if c.get("suite"):
            counts.setdefault(str(c["suite"]), 0)
            if LETTER.get(c.get("outcome", "")) in FAILING:
                counts[str(c["suite"])] += 1
    return counts


def _target_id(db: Database, doc: dict[str, Any]) -> int | None:
    rows = db.query("SELECT id FROM targets WHERE name = ? AND domain = ?", target_identity(doc))
    return int(rows[0][0]) if rows else None


def _load(db: Database, runs: list[tuple[Any, ...]]) -> list[_Run]:
    if not runs:
        return []
    ids = [r[0] for r in runs]
    status: dict[int, dict[str, str]] = defaultdict(dict)
    failures: dict[int, dict[str, int]] = defaultdict(dict)
    marks = ", ".join("?" * len(ids))
    for run_id, check_id, suite, letter in db.query(
            f"SELECT s.run_id, i.check_id, i.suite, s.status FROM results s JOIN items i ON i.id = s.item_id "
            f"WHERE s.run_id IN ({marks})", ids):
        status[run_id][check_id] = letter
        if suite:
            failures[run_id][suite] = failures[run_id].get(suite, 0) + (letter in FAILING)
    return [_Run(float(started), release, conv, status[rid], failures[rid]) for rid, started, release, conv in runs]


def _previous(db: Database, target_id: int, before: float, count: int) -> list[_Run]:
    """The `count` runs of the target that started before `before`, newest first."""
    return _load(db, db.query("SELECT id, started_at, release, convergence_s FROM runs WHERE target_id = ? "
                              "AND started_at < ? ORDER BY started_at DESC, id DESC LIMIT ?",
                              (target_id, before, count)))


def _last_pass(db: Database, target_id: int, before: float, previous: list[_Run]) -> _Run | None:
    rows = db.query("SELECT id, started_at, release, convergence_s FROM runs WHERE target_id = ? AND started_at < ? "
                    "AND failures = 0 ORDER BY started_at DESC, id DESC LIMIT 1", (target_id, before))
    if not rows:
        return None
    loaded = next((r for r in previous if r.started == float(rows[0][1])), None)
    return loaded or _load(db, rows)[0]


def _first_seen(db: Database, target_id: int, before: float, ids: list[str], previous: list[_Run]) -> dict[str, float]:
    """For each ongoing failure, the start of the earliest run of its unbroken failing streak (skips and
    absences do not break a streak; a pass does)."""
    seen: dict[str, float] = {}
    unresolved = []
    for cid in ids:
        broken = False
        for run in previous:
            letter = run.status.get(cid)
            if letter in OK:
                broken = True
                break
            if letter in FAILING:
                seen[cid] = run.started
        if not broken:
            unresolved.append(cid)
    item = "(SELECT id FROM items WHERE check_id = ?)"
    for cid in unresolved:  # the streak is older than the runs loaded: ask the database, walking the target's runs
        ok = db.query(f"SELECT r.started_at FROM runs r JOIN results s ON s.run_id = r.id AND s.item_id = {item} "
                      "WHERE r.target_id = ? AND r.started_at < ? AND s.status IN ('P', 'A') "
                      "ORDER BY r.started_at DESC LIMIT 1", (cid, target_id, before))
        first = db.query("SELECT MIN(r.started_at) FROM runs r JOIN results s ON s.run_id = r.id "
                         f"AND s.item_id = {item} WHERE r.target_id = ? AND r.started_at < ? AND r.started_at > ? "
                         "AND s.status IN ('F', 'E')",
                         (cid, target_id, before, ok[0][0] if ok else float("-inf")))[0][0]
        if first is not None:
            seen[cid] = float(first)
    return seen


def _flaky(window: list[_Run], changes_allowed: int) -> list[dict[str, Any]]:
    """Checks of the newest run whose pass/fail status changed more than `changes_allowed` times in `window`."""
    found = []
    for cid in sorted(window[-1].status):
        letters = [r.status[cid] for r in window if cid in r.status]
        judged = ["F" if s in FAILING else "P" for s in letters if s != "S"]
        changes = sum(1 for a, b in itertools.pairwise(judged) if a != b)
        if changes > changes_allowed:
            found.append({"id": cid, "strip": "".join("P" if s == "A" else s for s in letters)})
    return found


def terminal_lines(history: dict[str, Any], shown: int = 5) -> list[str]:
    """The history block for the terminal: what changed since the last run, a line per kind of change."""
    latency = latency_lines(history.get("latency"))
    if history.get("first_run"):
        return ["first recorded run of this target: nothing to compare with yet", *latency]

    def some(ids: list[str]) -> str:
        more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
        return ", ".join(ids[:shown]) + more

    lines = []
    if history["new_since_last"]:
        lines.append(f"{len(history['new_since_last'])} new since the last run: {some(history['new_since_last'])}")
    if history["ongoing"]:
        lines.append(f"{len(history['ongoing'])} ongoing: " + some(
            [f"{o['id']} (since {o['first_seen']})" for o in history["ongoing"]]))
    if history["recovered"]:
        lines.append(f"{len(history['recovered'])} recovered: {some(history['recovered'])}")
    if history["flaky"]:
        lines.append(f"{len(history['flaky'])} flaky: " + some([f"{f['id']} {f['strip']}" for f in history["flaky"]]))
    return (lines or ["no change since the last run"]) + latency


def markdown(history: dict[str, Any]) -> str:
    """The history block as a Markdown section (also readable as terminal text)."""
    def items(ids: list[str]) -> str:
        return ", ".join(f"`{i}`" for i in ids) if ids else "none"

    latency = latency_markdown(history.get("latency"))
    if history.get("first_run"):
        return ("## Compared with previous runs\n\nFirst recorded run of this target: nothing to compare with yet "
                "(with --fail-on new, every failure fails it).\n" + "".join(f"\n{line}" for line in latency)
                + ("\n" if latency else ""))
    lines = ["## Compared with previous runs", "",
             f"- New since the last run: {items(history['new_since_last'])}",
             f"- New since the last passing run: {items(history['new_since_last_pass'])}",
             f"- Recovered: {items(history['recovered'])}",
             "- Ongoing: " + (", ".join(f"`{o['id']}` (since {o['first_seen']})" for o in history["ongoing"])
                              or "none")]
    if history["flaky"]:
        lines.append("- Flaky (oldest to newest, P pass F fail E error S skip): "
                     + ", ".join(f"`{f['id']}` {f['strip']}" for f in history["flaky"]))
    for entry in history["accepted"]:
        lines.append(f"- Accepted: `{entry['id']}`, {accepted_note(entry)}")
    if latency:
        lines += ["", *latency]
    return "\n".join(lines) + "\n"
