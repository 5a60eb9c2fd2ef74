"""Scores diagnose.likely_cause over the corpus of real edge answers (tests/data/corpus): at least 90 % named
right and not one named wrong. "Right" is the expected signature; silent is not right but not wrong."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import yaml

from edgeverify.diagnose import SIGNATURES, diagnose, likely_cause, unknown_answer
from edgeverify.exchange import Exchange

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
SCORE = Path(__file__).resolve().parents[2] / "reports" / "diagnose-corpus.txt"  # printed by tests/conftest.py
FIELDS = {"id", "source", "request", "status", "headers", "body", "cause", "expect"}


def load_corpus() -> list[dict]:
    entries = []
    for path in sorted(CORPUS.glob("*.yaml")) + sorted((CORPUS / "fresh").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text()):
            entry["file"] = str(path.relative_to(CORPUS))
            entries.append(entry)
    return entries


ENTRIES = load_corpus()
HELDOUT = {line.strip() for line in (CORPUS / "heldout-ids.txt").read_text().splitlines()
           if line.strip() and not line.startswith("#")}


def exchange(entry: dict) -> Exchange:
    request = entry["request"]
    return Exchange(request["method"], f"https://www.example.test{request['path']}", status=entry["status"],
                    headers=[(name, value) for name, value in entry["headers"]],
                    body=(entry["body"] or "").encode())


def test_every_entry_is_complete_and_cited():
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids)), [i for i, n in collections.Counter(ids).items() if n > 1]
    known = {s.id for s in SIGNATURES}
    for e in ENTRIES:
        assert FIELDS <= e.keys(), (e["id"], FIELDS - e.keys())
        assert "#" in e["source"] or e["source"].startswith("https://"), e["id"]
        assert e["expect"] in known or e["expect"].startswith("unknown."), (e["id"], e["expect"])
        assert e["body"] or e["headers"], f"{e['id']}: a source that shows neither body nor headers"
        assert e.get("status_shown", True) or e.get("status_note"), f"{e['id']}: an inferred status needs its note"


def verdict(entry: dict) -> str:
    """right: the expected signature alone (or, for a `half` entry, ranked candidates that include it); wrong: a
    cause that is not the expected one; silent: nothing named, or candidates including it for a whole entry.
    (tests/score_corpus.py scores the same way and prints the per-class table.)"""
    found = diagnose(exchange(entry))
    if entry["expect"].startswith("unknown."):  # the source establishes no cause: describe, never claim one
        described = unknown_answer(exchange(entry))
        if found is not None:
            return "wrong"
        return "right" if described is not None and described.signature_id == entry["expect"] else "silent"
    if found is None:
        return "silent"
    named = found.signature_id.split("|")
    if named == [entry["expect"]]:
        return "right"
    if entry["expect"] in named:
        return "right" if entry.get("half") else "silent"
    return "wrong"


def test_corpus_score():
    parts: dict[str, dict[str, list[str]]] = {"train": collections.defaultdict(list),
                                              "held out": collections.defaultdict(list)}
    for e in ENTRIES:
        parts["held out" if e["id"] in HELDOUT else "train"][verdict(e)].append(e["id"])
    lines = []
    for name, row in parts.items():
        n = sum(len(v) for v in row.values())
        lines.append(f"{name}: {n} real responses; right {len(row['right'])} ({len(row['right']) / n:.1%}), "
                     f"silent {len(row['silent'])}, wrong {len(row['wrong'])}")
    classes = len({e["expect"] for e in ENTRIES})
    summary = (f"corpus: {len(ENTRIES)} real responses in {classes} classes (per class: tests/score_corpus.py)\n"
               + "\n".join(lines) + "\n")
    print("\n" + summary)
    SCORE.parent.mkdir(parents=True, exist_ok=True)
    SCORE.write_text(summary)
    assert HELDOUT <= {e["id"] for e in ENTRIES}
    for name, row in parts.items():
        n = sum(len(v) for v in row.values())
        assert row["wrong"] == [], (name, row["wrong"])
        assert len(row["right"]) / n >= 0.90, f"{name}: only {len(row['right'])} of {n} right; silent: {row['silent']}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_each_entry_reads_as_text(entry):
    text = likely_cause(exchange(entry))
    assert text is None or "change:" in text
