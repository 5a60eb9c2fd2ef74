"""Trends for `edgeverify history`: per ISO week, each rule's pass rate and convergence-time percentiles."""

from __future__ import annotations

import datetime as dt
import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .errors import HistoryError
from .record import FAILING
from .store import Database


@dataclass(slots=True)
class Row:
    """One line of the table: a rule (or "(runs)" for whole runs) in one ISO week."""

    week: str
    rule: str
    runs: int
    passed: int = 0
    judged: int = 0
    waits: list[float] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.judged if self.judged else None


@dataclass(slots=True)
class TargetTrend:
    name: str
    domain: str
    runs: int
    first: float
    last: float
    rows: list[Row]
    grades: dict[str, tuple[float, str]] = field(default_factory=dict)  # week -> the week's lowest (score, grade)


RUNS_ROW = "(runs)"
GRADE_ROW = "(security grade)"  # per week: the lowest score and its grade (the runs column counts graded runs)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def iso_week(epoch: float) -> str:
    year, week, _ = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def select_targets(db: Database, target: str | None) -> list[tuple[Any, ...]]:
    """(id, name, domain) of every target, or of the one named (by name or domain); HistoryError naming the
    closest when none is."""
    targets = db.query("SELECT id, name, domain FROM targets ORDER BY name, domain")
    if target is not None:
        chosen = [t for t in targets if target in (t[1], t[2])]
        if not chosen:
            names = sorted({t[1] for t in targets} | {t[2] for t in targets})
            close = difflib.get_close_matches(target, names, n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else (f" Known: {', '.join(names)}." if names else "")
            raise HistoryError(f"History database {db.shown}: no target named '{target}'.{hint}")
        targets = chosen
    return targets


def weekly(db: Database, *, target: str | None = None, since: float | None = None) -> list[TargetTrend]:
    """Per target (or only the one named, by name or domain), rows per week: runs, then each rule."""
    targets = select_targets(db, target)
    found = []
    for target_id, name, domain in targets:
        runs = db.query("SELECT id, started_at, failures, convergence_s FROM runs WHERE target_id = ? "
                        "AND started_at >= ? ORDER BY started_at", (target_id, since if since is not None else 0.0))
        if not runs:
            continue
        week_of = {rid: iso_week(started) for rid, started, _, _ in runs}
        rows: dict[tuple[str, str], Row] = {}
        rule_runs: dict[tuple[str, str], set[int]] = defaultdict(set)
        for rid, _, failures, conv in runs:
            row = rows.setdefault((week_of[rid], ""), Row(week_of[rid], RUNS_ROW, 0))
            row.runs += 1
            row.judged += 1
            row.passed += failures == 0
            if conv is not None:
                row.waits.append(float(conv))
        results = db.query(
            "SELECT s.run_id, i.rule, s.status, s.converged_after_s FROM results s JOIN items i ON i.id = s.item_id "
            "JOIN runs r ON r.id = s.run_id WHERE r.target_id = ? AND r.started_at >= ?",
            (target_id, since if since is not None else 0.0))
        for rid, rule, status, conv in results:
            if status == "S" or rid not in week_of:
                continue
            key = (week_of[rid], rule or "?")
            row = rows.setdefault(key, Row(key[0], key[1], 0))
            rule_runs[key].add(rid)
            row.judged += 1
            row.passed += status not in FAILING
            if conv is not None:
                row.waits.append(float(conv))
        for key, ids in rule_runs.items():
            rows[key].runs = len(ids)
        ordered = [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1] != "", k[1]))]
        grades: dict[str, tuple[float, str]] = {}
        for rid, score, grade in db.query("SELECT id, security_score, security_grade FROM runs WHERE target_id = ? "
                                          "AND started_at >= ? AND security_score IS NOT NULL",
                                          (target_id, since if since is not None else 0.0)):
            week = week_of[rid]
            if week not in grades or float(score) < grades[week][0]:
                grades[week] = (float(score), str(grade))
        found.append(TargetTrend(name, domain, len(runs), float(runs[0][1]), float(runs[-1][1]), ordered, grades))
    return found


def table(trends: list[TargetTrend]) -> str:
    """The trends as a plain-text table per target."""
    out = []
    for t in trends:
        first, last = (dt.datetime.fromtimestamp(x, dt.timezone.utc).date().isoformat() for x in (t.first, t.last))
        out.append(f"{t.name} ({t.domain}): {t.runs} run{'s' if t.runs != 1 else ''}, {first} to {last}")
        width = max([len(RUNS_ROW), *(len(r.rule) for r in t.rows)])
        out.append(f"  {'week':<8}  {'rule':<{width}}  {'runs':>5}  {'pass rate':>9}  {'p50 conv s':>10}  "
                   f"{'p90 conv s':>10}")
        for r in t.rows:
            rate = f"{r.pass_rate * 100:.1f}%" if r.pass_rate is not None else "-"
            p50, p90 = (percentile(r.waits, q) for q in (50, 90))
            out.append(f"  {r.week:<8}  {r.rule:<{width}}  {r.runs:>5}  {rate:>9}  {_num(p50):>10}  {_num(p90):>10}")
        for week, (score, grade) in sorted(t.grades.items()):
            out.append(f"  {week:<8}  {GRADE_ROW}: lowest {grade} ({score:g})")
        out.append("")
    return "\n".join(out)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
