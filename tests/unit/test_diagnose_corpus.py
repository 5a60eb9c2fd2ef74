"""Scores diagnose.likely_cause over the corpus of real edge answers (tests/data/corpus): at least 90 % named
right and not one named wrong. "Right" is the expected signature; silent is not right but not wrong."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import yaml

from edgeverify.diagnose import SIGNATURES, diagnose, likely_cause
from edgeverify.exchange import Exchange

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
SCORE = Path(__file__).resolve().parents[2] / "reports" / "diagnose-corpus.txt"  # printed by tests/conftest.py
FIELDS = {"id", "source", "request", "status", "headers", "body", "cause", "expect"}


def load_corpus() -> list[dict]:
    entries = []
    for path in sorted(CORPUS.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text()):
            entry["file"] = path.name
            entries.append(entry)
    return entries


ENTRIES = load_corpus()


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
        assert e["expect"] in known, (e["id"], e["expect"])
        assert e["body"] or e["headers"], f"{e['id']}: a source that shows neither body nor headers"
        assert e.get("status_shown", True) or e.get("status_note"), f"{e['id']}: an inferred status needs its note"


def test_corpus_score():
    right, wrong, silent = [], [], []
    for e in ENTRIES:
        found = diagnose(exchange(e))
        if found is None:
            silent.append(e["id"])
        elif found.signature_id == e["expect"]:
            right.append(e["id"])
        elif e["expect"] in found.signature_id.split("|"):
            silent.append(e["id"])  # "one of" including the right one: not wrong, not right either
        else:
            wrong.append(f"{e['id']}: expected {e['expect']}, got {found.signature_id}")
    score = len(right) / len(ENTRIES)
    causes = collections.Counter(e["expect"] for e in ENTRIES).most_common(5)
    heldout = [e["id"] for e in ENTRIES if e.get("heldout")]
    summary = (f"corpus: {len(ENTRIES)} real responses; right {len(right)} ({score:.1%}), silent {len(silent)}, "
               f"wrong {len(wrong)}; held out (found after the signatures were written): "
               f"{len(set(heldout) & set(right))} of {len(heldout)} right\nmost common causes in the sources: "
               + ", ".join(f"{c} ({n})" for c, n in causes) + "\n")
    print("\n" + summary)
    SCORE.parent.mkdir(parents=True, exist_ok=True)
    SCORE.write_text(summary)
    assert len(ENTRIES) >= 60
    assert wrong == [], wrong
    assert score >= 0.90, f"only {score:.1%} right; silent: {silent}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_each_entry_reads_as_text(entry):
    text = likely_cause(exchange(entry))
    assert text is None or "change:" in text
