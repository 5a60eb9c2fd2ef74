"""The schema-2 report of a failing lab run (fixtures/failing-run.json), and variants of it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "failing-run.json"
COUNT_KEYS = ("passed", "failed", "error", "skipped", "advisory")
_LOADED: dict[str, Any] = json.loads(FIXTURE.read_text())


def recount(doc: dict[str, Any]) -> dict[str, Any]:
    """Recompute counts, per-suite counts and exit status from the checks' statuses."""
    doc["counts"] = {k: sum(c["status"] == k for c in doc["checks"]) for k in COUNT_KEYS}
    suites: dict[str, dict[str, int]] = {}
    for c in doc["checks"]:
        suites.setdefault(c["suite"], dict.fromkeys(COUNT_KEYS, 0))[c["status"]] += 1
    doc["suites"] = suites
    doc["exit_status"] = 1 if doc["counts"]["failed"] or doc["counts"]["error"] else 0
    return doc


def make_doc(domain: str = "www.example.test", *, passing: bool = False, history: bool = True,
             edges: bool = True) -> dict[str, Any]:
    """The failing lab run's report, for another domain, or with every failure turned into a pass."""
    doc = copy.deepcopy(_LOADED)
    doc["domain"] = domain
    if passing:
        for c in doc["checks"]:
            if c["status"] in ("failed", "error"):
                c.update(status="passed", expected=None, actual=None, cause=None, reproduce=None, message=None)
    if not history:
        doc.pop("history", None)
    if not edges:
        doc.pop("edges", None)
    return recount(doc)
