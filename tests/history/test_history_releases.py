"""The previous release from the run history (edgeverify/skew.py, history/releases.py): what a run records of the
entry document it saw (bounded), which runs count as passing, which release a check takes, why it skips, and the
migration that adds the tables to an existing database. Against SQLite and PostgreSQL; no sockets to an edge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from history_builder import CHECKS, FAULT_A, run_doc

from edgeverify.errors import NotApplicable
from edgeverify.exchange import Exchange
from edgeverify.history import open_db, prune, record_run, record_runs
from edgeverify.history.migrations import LATEST
from edgeverify.history.releases import recall
from edgeverify.skew import (ASSETS_MAX, DOCUMENT_MAX_BYTES, PATH_MAX, Recalled, digest, previous_release,
                             recall_releases, run_passed, seen_entry)
from edgeverify.target import Propagation, Target

SKEW = ("propagation.previous_release", "propagation.previous_release", "propagation")
CHECKS_SKEW = [*CHECKS, ("test_propagation.py::test_previous_release_still_loads", *SKEW[1:])]


def page(release: str, chunks: int = 2) -> str:
    scripts = "".join(f'<script type="module" src="/assets/{release}-{i}.js"></script>' for i in range(chunks))
    return f'<!doctype html><html><head>{scripts}<link rel="stylesheet" href="/assets/{release}.css"></head>' \
           f'<body data-release="{release}"><div id="root"></div></body></html>'


def entry(release: str) -> dict[str, Any]:
    text = page(release)
    return {"url": "https://www.example.test/", "sha256": digest(text.encode()), "bytes": len(text),
            "assets": [f"/assets/{release}-0.js", f"/assets/{release}-1.js", f"/assets/{release}.css"],
            "assets_total": 3, "document": text}


def seen(started_at: str, release: str | None, failing: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
    """A report whose run saw the entry document of `release` (None: it fetched none)."""
    doc = run_doc(started_at, failing, checks=CHECKS_SKEW, **kwargs)
    doc["release"]["entry"] = entry(release) if release else None
    return doc


def target(tmp_path: Path, *, previous_entry: str | None = None, recalled: Recalled | None = None) -> Target:
    t = Target("www.example.test", propagation=Propagation(previous_entry=previous_entry), source="targets/site.yaml")
    t.recalled = recalled
    return t


class Edge:
    """The check's `edge`, answering the entry document with the release the edge serves today."""

    def __init__(self, release: str) -> None:
        self.release = release
        self.asked: list[str] = []

    def fetch(self, path: str, *, whole: bool = False) -> Exchange:
        self.asked.append(path)
        return Exchange("GET", f"https://www.example.test{path}", status=200, headers=[("content-type", "text/html")],
                        body=page(self.release).encode())


def test_passing_runs_record_their_release_and_the_newest_other_one_is_taken(db_url: str, tmp_path: Path) -> None:
    record_runs([
        seen("2026-11-20T01:00:00Z", "r1"),
        seen("2026-11-21T01:00:00Z", "r2", (FAULT_A,)),  # failed: its release is not a previous release
        seen("2026-11-22T01:00:00Z", "r3", (CHECKS_SKEW[-1][0],)),  # failed only on the skew check: it passes
        seen("2026-11-23T01:00:00Z", "r3"),
        seen("2026-11-23T02:00:00Z", None),  # fetched no entry document: nothing recorded
        {**seen("2026-11-24T01:00:00Z", "r4"), "interrupted": "SIGTERM"},  # interrupted: never passing
    ], db_url)
    found = recall(db_url, "site", "www.example.test", 2)
    assert [(r.run_id, r.sha256) for r in found] == [(4, entry("r3")["sha256"]), (1, entry("r1")["sha256"])]
    assert found[0].assets == tuple(entry("r3")["assets"]) and found[0].document == page("r3")
    recalled = Recalled("sqlite:///h", tuple(found))

    previous = previous_release(Edge("r3"), target(tmp_path, recalled=recalled))  # today is r3: r1 before it
    assert previous.assets == entry("r1")["assets"] and previous.document == page("r1").encode()
    assert "recalled from the run history (sqlite:///h)" in previous.source and "run 1 of 2026-11-20T01:00:00Z" \
        in previous.source and previous.short == "from the run history: run 1 of 2026-11-20T01:00:00Z"
    assert previous_release(Edge("r5"), target(tmp_path, recalled=recalled)).assets == entry("r3")["assets"]
    assert previous_release(Edge("r1"), target(tmp_path, recalled=recalled)).assets == entry("r3")["assets"]
    with open_db(db_url) as db:  # r3, seen by two runs, is stored once
        assert db.query("SELECT COUNT(*) FROM entries")[0][0] == 4


def test_passing_means_no_bad_outcome_but_the_previous_release_checks_own() -> None:
    assert run_passed(seen("2026-11-20T01:00:00Z", "r1"))
    assert run_passed(seen("2026-11-20T01:00:00Z", "r1", skipped=[c[0] for c in CHECKS]))
    assert run_passed(seen("2026-11-20T01:00:00Z", "r1", (FAULT_A,), status="accepted"))
    assert run_passed(seen("2026-11-20T01:00:00Z", "r1", (FAULT_A,), status="advisory"))
    for status in ("failed", "could_not_judge", "interrupted"):
        assert not run_passed(seen("2026-11-20T01:00:00Z", "r1", (FAULT_A,), status=status)), status
    assert run_passed(seen("2026-11-20T01:00:00Z", "r1", (CHECKS_SKEW[-1][0],)))
    assert not run_passed({**seen("2026-11-20T01:00:00Z", "r1"), "interrupted": "SIGINT"})


def test_no_previous_release_is_a_skip_saying_why(tmp_path: Path) -> None:
    cases = [(None, "this run keeps no history (--history off)"),
             (Recalled("sqlite:///h", error="cannot open"), "the run history could not be read: cannot open"),
             (Recalled("sqlite:///h"), "has no passing run of this target yet"),
             (Recalled("sqlite:///h", (recall_one("r1"),)), "no passing run that saw an entry document other than "
                                                            "today's")]
    for recalled, why in cases:
        with pytest.raises(NotApplicable) as raised:
            previous_release(Edge("r1"), target(tmp_path, recalled=recalled))
        assert "declares no propagation.previous_entry" in str(raised.value) and why in str(raised.value)


def recall_one(release: str) -> Any:
    from edgeverify.skew import RecordedRelease

    e = entry(release)
    return RecordedRelease(1, 0.0, e["url"], e["sha256"], e["bytes"], tuple(e["assets"]), 3, e["document"])


def test_a_declared_previous_entry_comes_first(tmp_path: Path) -> None:
    saved = tmp_path / "previous-index.html"
    saved.write_text(page("r0"))
    edge = Edge("r1")
    previous = previous_release(edge, target(tmp_path, previous_entry=str(saved),
                                             recalled=Recalled("sqlite:///h", (recall_one("r9"),))))
    assert previous.assets == ["/assets/r0-0.js", "/assets/r0-1.js", "/assets/r0.css"]
    assert previous.source == f"declared in the target: propagation.previous_entry ({saved})"
    assert edge.asked == []  # the declared form needs no look at today's entry document


def test_recording_is_bounded_whatever_the_entry_document(db_url: str) -> None:
    """A 5 MB index referencing 10,000 assets, some with 5,000-character paths: hashed, its first ASSETS_MAX paths up
    to PATH_MAX kept (longer ones left out, never cut), its text not; and recorded a hundred times, stored once."""
    huge = page("big", chunks=10_000).replace("/assets/big-1", "/assets/" + "x" * 5000 + "-1").encode() + b" " * 5_000_000
    ex = Exchange("GET", "https://www.example.test/", status=200, headers=[("content-type", "text/html")], body=huge)
    t = Target("www.example.test")
    block = seen_entry([ex], t)
    assert block is not None and block["document"] is None and block["sha256"] == digest(huge)
    assert len(block["assets"]) == ASSETS_MAX and block["assets_total"] == 10_001
    assert all(len(a) <= PATH_MAX for a in block["assets"]) and "/assets/big-0.js" in block["assets"]
    docs = [{**seen(f"2026-11-{20 + i // 24:02d}T{i % 24:02d}:00:00Z", None), "release": {
        "marker": None, "gate": "none", "entry": {**block, "assets": ["/a" * 10_000, *["/b" * 500] * 50_000]}}} for i in range(100)]
    with open_db(db_url) as db:
        before = db.used_bytes()
    record_runs(docs, db_url)
    with open_db(db_url) as db:
        (assets, total, document), = db.query("SELECT assets, assets_total, document FROM entries")
        grown = db.used_bytes() - before
    assert document is None and len(json.loads(assets)) == ASSETS_MAX and total == 10_001
    assert all(len(a) <= PATH_MAX for a in json.loads(assets))
    bound = ASSETS_MAX * (PATH_MAX + 4) + DOCUMENT_MAX_BYTES + 100 * 2048  # one release, and a row per run
    print(f"100 runs of a 5 MB index: history grew {grown} bytes (bound {bound})")
    assert grown < bound


def test_the_entry_document_a_run_saw_is_the_newest_whole_one() -> None:
    t = Target("www.example.test")
    old = Exchange("GET", "https://www.example.test/", status=200, headers=[("content-type", "text/html")],
                   body=page("r1").encode(), started_at=1.0)
    new = Exchange("GET", "https://www.example.test/", status=200, headers=[("content-type", "text/html")],
                   body=page("r2").encode(), started_at=2.0)
    cut = Exchange("GET", "https://www.example.test/", status=200, headers=[("content-type", "text/html")],
                   body=page("r3").encode(), started_at=3.0, body_truncated=True)
    plain = Exchange("GET", "http://www.example.test/", status=200, headers=[("content-type", "text/html")],
                     body=page("r4").encode(), started_at=4.0)
    other = Exchange("GET", "https://www.example.test/docs/", status=200, headers=[("content-type", "text/html")],
                     body=page("r5").encode(), started_at=5.0)
    block = seen_entry([old, new, cut, plain, other], t)
    assert block is not None and block["sha256"] == digest(page("r2").encode()) and block["document"] == page("r2")
    assert block["assets"] == entry("r2")["assets"]
    assert seen_entry([cut, plain, other], t) is None


def test_an_existing_database_is_migrated_and_its_old_runs_are_kept(db_url: str, tmp_path: Path) -> None:
    with open_db(db_url, upto=3) as db:
        assert db.schema_version() == 3

        def old_run(d: Any) -> None:
            d.execute("INSERT INTO targets (name, domain) VALUES (?, ?)", ("site", "www.example.test"))
            d.execute("INSERT INTO runs (target_id, started_at, failures, recorded_at, security_grade) VALUES "
                      "((SELECT id FROM targets), ?, 0, ?, ?)", (1.0e9, 1.0e9, "A+"))
        db.write(old_run)
    assert recall(db_url, "site", "www.example.test", 2) == []  # read: migrated, the old run saw no entry recorded
    with open_db(db_url, migrate=False) as db:
        assert db.schema_version() == LATEST == 5
        assert db.query("SELECT security_grade, entry_id, entry_passed FROM runs") == [("A+", None, None)]
    record_run(seen("2026-11-20T01:00:00Z", "r1"), db_url, retention=None)
    (found,) = recall(db_url, "site", "www.example.test", 2)
    assert found.sha256 == entry("r1")["sha256"]


def test_retention_drops_the_releases_no_run_saw_any_more(db_url: str) -> None:
    record_runs([seen(f"2026-11-2{i}T01:00:00Z", f"r{i}") for i in range(4)], db_url)
    prune(db_url, keep_days=None, keep_runs=1, max_bytes=None)
    with open_db(db_url) as db:
        assert db.query("SELECT COUNT(*) FROM entries")[0][0] == 1
    assert [r.sha256 for r in recall(db_url, "site", "www.example.test", 2)] == [entry("r3")["sha256"]]


def test_reading_the_history_before_the_checks(tmp_path: Path) -> None:
    """recall_releases: never creates a SQLite history; a history that cannot be read is kept as the reason; a
    declared previous_entry or --history off reads nothing."""
    url = f"sqlite:///{tmp_path / 'none' / 'history.sqlite'}"
    t = target(tmp_path)
    recall_releases([t], url, tmp_path)
    assert t.recalled == Recalled(url) and not (tmp_path / "none").exists()
    saved = tmp_path / "previous-index.html"
    saved.write_text(page("r0"))
    many = [Target(f"www{i}.example.test", source=f"targets/site{i}.yaml") for i in range(3)]
    declared = target(tmp_path, previous_entry=str(saved))
    recall_releases([*many, declared], "postgresql://edgeverify@127.0.0.1:1/none", tmp_path)  # one connection tried
    assert all(t.recalled is not None and "cannot connect" in (t.recalled.error or "") for t in many)
    assert declared.recalled is None
    t = target(tmp_path)
    recall_releases([t], "off", tmp_path)
    assert t.recalled is None


def test_each_target_recalls_its_own_releases(db_url: str, tmp_path: Path) -> None:
    record_runs([seen("2026-11-20T01:00:00Z", "a1", target_name="a", domain="a.example.test"),
                 seen("2026-11-20T01:00:00Z", "b1", target_name="b", domain="b.example.test")], db_url)
    a = Target("a.example.test", source="targets/a.yaml")
    b = Target("b.example.test", source="ci/b.yaml")
    c = Target("c.example.test", source="targets/c.yaml")
    recall_releases([a, b, c], db_url, tmp_path)
    assert [r.sha256 for r in a.recalled.releases] == [entry("a1")["sha256"]]
    assert [r.sha256 for r in b.recalled.releases] == [entry("b1")["sha256"]]
    assert c.recalled.releases == () and c.recalled.error is None


def test_the_report_carries_the_release_seen_and_reads_it_back(tmp_path: Path) -> None:
    import jsonschema

    from edgeverify.model import Release, RunResult
    from edgeverify.reports import read_report, report_schema, to_json

    run = RunResult("www.example.test", "targets/site.yaml", "site", "edgeverify", 1.0e9, 1.0e9 + 2, (),
                    release=Release(entry=entry("r1")))
    doc = to_json(run)
    jsonschema.validate(doc, report_schema())
    assert doc["release"]["entry"] == entry("r1")
    path = tmp_path / "edgeverify.json"
    path.write_text(json.dumps(doc))
    assert read_report(path).release.entry == entry("r1")
    doc["release"]["entry"]["sha256"] = "not a hash"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, report_schema())
