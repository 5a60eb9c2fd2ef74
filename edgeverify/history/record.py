"""Recording a run: a schema-2 report (edgeverify.json as a dict) becomes one `runs` row and one row per check.

Stored per check: id, rule, suite, status, attempts, converged_after_s, POPs, and for findings the title
(the message's first line) and the cause, both redacted and cut short. Never stored: exchanges, bodies,
headers, curl lines, expected/actual texts. Stored per run, edge and kind of request: the latency percentiles of
the report's `latency` block (history/latency.py). Per run, the entry document it saw (`release.entry`, bounded
as skew.py says), once per distinct document (history/releases.py).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NewType

from ..redact import redact
from ..skew import bounded, run_passed
from .errors import HistoryError
from .known import KnownIssues
from .latency import record as record_latency
from .releases import entry_id
from .retention import DEFAULT_RETENTION, Retention, prune_open
from .store import Clock, Database, open_db, to_epoch

RunId = NewType("RunId", int)
# A check's outcome (model.Outcome) as one letter; an accepted known issue is a failure stored with accepted=1.
LETTER = {"passed": "P", "failed": "F", "could_not_judge": "E", "accepted": "F", "skipped": "S", "advisory": "A",
          "interrupted": "I"}
FAILING = frozenset("FE")
TITLE_MAX = 300
CAUSE_MAX = 1000


def record_run(doc: dict[str, Any], url: str, *, known: KnownIssues | None = None, clock: Clock | None = None,
               retention: Retention | None = DEFAULT_RETENTION) -> RunId:
    """Store one run (a schema-2 report) in one transaction, then apply `retention`; the run's id.

    A report already recorded (same target and start time) is not stored twice: its first id is returned.

    Accepted failures are taken from `known` when given, else from doc["history"]["accepted"]."""
    now = (clock or time.time)()
    with open_db(url) as db:
        ids = db.write(lambda d: _insert(d, [doc], known, now, {}))
        if retention is not None:
            prune_open(db, retention, now)
    return ids[0]


def record_runs(docs: Iterable[dict[str, Any]], url: str, *, known: KnownIssues | None = None,
                clock: Clock | None = None) -> list[RunId]:
    """Store many runs in one transaction (imports, benchmarks); no retention applied."""
    now = (clock or time.time)()
    batch = list(docs)  # a retried transaction starts again from the first
    with open_db(url) as db:
        return db.write(lambda d: _insert(d, batch, known, now, {}))


def target_identity(doc: dict[str, Any]) -> tuple[str, str]:
    """(name, domain) naming a target across runs: target_name (else the target file's stem) and the domain."""
    domain = str(doc.get("domain") or "")
    name = doc.get("target_name") or (Path(str(doc["target"])).stem if doc.get("target") else domain)
    if not domain:
        raise HistoryError("The report has no domain; it is not an edgeverify.json of schema 2.")
    return str(name), domain


def started_epoch(doc: dict[str, Any]) -> float:
    """The run's start time, in seconds since the epoch."""
    start = doc.get("started_at") or doc.get("finished_at")
    if not start:
        raise HistoryError("The report has no started_at; it is not an edgeverify.json of schema 2.")
    return to_epoch(str(start), "started_at")


def accepted_ids(doc: dict[str, Any], known: KnownIssues | None, today: dt.date) -> set[str]:
    """Ids of the failing checks accepted (and not expired) by `known` when given, else as the run decided them
    (outcome "accepted")."""
    if known is not None:
        found = set()
        for check in doc.get("checks", []):
            if LETTER.get(check.get("outcome", "")) in FAILING:
                issue = known.match(check)
                if issue is not None and not issue.expired(today):
                    found.add(str(check["id"]))
        return found
    return {str(c["id"]) for c in doc.get("checks", []) if c.get("outcome") == "accepted"}


def convergence(doc: dict[str, Any]) -> float | None:
    """Seconds until the run's release and every retried check converged (None when nothing was waited for)."""
    waits = [c.get("converged_after_s") for c in doc.get("checks", [])]
    waits.append((doc.get("release") or {}).get("served_after_s"))
    numbers = [float(w) for w in waits if isinstance(w, (int, float))]
    return max(numbers) if numbers else None


def _grade(doc: dict[str, Any]) -> tuple[float | None, str | None]:
    """The run's security score and grade, when the security suite computed them."""
    block = doc.get("security")
    if not isinstance(block, dict) or not isinstance(block.get("score"), (int, float)):
        return None, None
    return float(block["score"]), str(block.get("grade") or "")[:4] or None


def utc_date(epoch: float) -> dt.date:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).date()


def _title(check: dict[str, Any]) -> str | None:
    text = check.get("message") or check.get("advisory")
    if not text:
        return None
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return redact(first)[:TITLE_MAX] or None


def _cause(check: dict[str, Any]) -> str | None:
    cause = check.get("cause")
    return redact(str(cause))[:CAUSE_MAX] if cause else None


def _item_ids(db: Database, checks: list[dict[str, Any]], cache: dict[str, int]) -> None:
    fresh = {str(c["id"]): (c.get("rule"), c.get("suite")) for c in checks if str(c["id"]) not in cache}
    if not fresh:
        return
    db.executemany("INSERT INTO items (check_id, rule, suite) VALUES (?, ?, ?) ON CONFLICT (check_id) DO NOTHING",
                   [(cid, rule, suite) for cid, (rule, suite) in fresh.items()])
    names = list(fresh)
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for item_id, check_id in db.query(f"SELECT id, check_id FROM items WHERE check_id IN ({marks})", chunk):
            cache[check_id] = int(item_id)


def _insert(db: Database, docs: Iterable[dict[str, Any]], known: KnownIssues | None, now: float,
            items: dict[str, int]) -> list[RunId]:
    targets: dict[tuple[str, str], int] = {}
    ids: list[RunId] = []
    for doc in docs:
        name, domain = target_identity(doc)
        if (name, domain) not in targets:
            db.execute("INSERT INTO targets (name, domain) VALUES (?, ?) ON CONFLICT (name, domain) DO NOTHING",
                       (name, domain))
            targets[(name, domain)] = int(db.query("SELECT id FROM targets WHERE name = ? AND domain = ?",
                                                   (name, domain))[0][0])
        started = started_epoch(doc)
        checks = [c for c in doc.get("checks", []) if c.get("id") and LETTER.get(c.get("outcome", ""))]
        accepted = accepted_ids(doc, known, utc_date(now))
        failures = sum(1 for c in checks if LETTER[c["outcome"]] in FAILING and str(c["id"]) not in accepted)
        release = doc.get("release") or {}
        entry = bounded(release["entry"]) if isinstance(release.get("entry"), dict) else None
        entry_ref = entry_id(db, targets[(name, domain)], entry) if entry is not None else None
        finished = to_epoch(str(doc["finished_at"]), "finished_at") if doc.get("finished_at") else None
        inserted = db.query(
            "INSERT INTO runs (target_id, started_at, finished_at, wall_s, release, gate, convergence_s, exit_status,"
            " failures, tool, target_file, recorded_at, security_score, security_grade, entry_id, entry_passed)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (target_id, started_at) DO NOTHING RETURNING id",
            (targets[(name, domain)], started, finished, doc.get("wall_s"), release.get("marker"),
             release.get("gate"), convergence(doc), doc.get("exit_status"), failures, doc.get("tool"),
             str(doc["target"]) if doc.get("target") else None, now, *_grade(doc), entry_ref,
             None if entry_ref is None else int(run_passed(doc))))
        if not inserted:  # this report was recorded before: keep the first record
            ids.append(RunId(int(db.query("SELECT id FROM runs WHERE target_id = ? AND started_at = ?",
                                          (targets[(name, domain)], started))[0][0])))
            continue
        run_id = int(inserted[0][0])
        _item_ids(db, checks, items)
        rows = []
        for c in checks:
            letter = LETTER[c["outcome"]]
            finding = letter != "P" and letter != "S"
            pops = c.get("pops") or []
            rows.append((run_id, items[str(c["id"])], letter, int(str(c["id"]) in accepted), c.get("attempts"),
                         c.get("converged_after_s"), ",".join(str(p) for p in pops)[:500] or None,
                         _title(c) if finding else None, _cause(c) if finding else None))
        db.executemany("INSERT INTO results (run_id, item_id, status, accepted, attempts, converged_after_s, pops,"
                       " title, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, item_id) DO NOTHING",
                       rows)
        record_latency(db, run_id, doc)
        ids.append(RunId(run_id))
    return ids
