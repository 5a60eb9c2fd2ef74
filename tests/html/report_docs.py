"""The schema-3 report of a failing lab run (fixtures/failing-run.json), and variants of it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from edgeverify.reports import from_json, to_json

FIXTURE = Path(__file__).parent / "fixtures" / "failing-run.json"
_LOADED: dict[str, Any] = json.loads(FIXTURE.read_text())


def recount(doc: dict[str, Any]) -> dict[str, Any]:
    """The doc as the run model writes it: counts, per-suite counts, verdict and exit status from the outcomes."""
    written = to_json(from_json(doc))
    written["started_at"], written["finished_at"] = doc["started_at"], doc["finished_at"]
    return written


def make_doc(domain: str = "www.example.test", *, passing: bool = False, history: bool = True,
             edges: bool = True) -> dict[str, Any]:
    """The failing lab run's report, for another domain, or with every failure turned into a pass."""
    doc = copy.deepcopy(_LOADED)
    doc["domain"] = domain
    if passing:
        for c in doc["checks"]:
            if c["outcome"] in ("failed", "could_not_judge"):
                c.update(outcome="passed", expected=None, actual=None, cause=None, reproduce=None, message=None)
    if not history:
        doc.pop("history", None)
    if not edges:
        doc.pop("edges", None)
    return recount(doc)
