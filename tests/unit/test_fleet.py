"""Many targets: sharding, merging the shards' schema-3 reports, the combined summary (Markdown, HTML)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from edgeverify.errors import TargetError
from edgeverify.fleet import fleet_markdown, merge, shard
from edgeverify.reports import write_fleet
from edgeverify.html import render_fleet
from edgeverify.reports import from_json, to_json

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = json.loads((ROOT / "tests" / "html" / "fixtures" / "failing-run.json").read_text())
def doc_for(domain: str, passing: bool) -> dict[str, Any]:
    """The failing lab run's report (tests/html/fixtures) for another domain, its failures passed if asked."""
    doc = copy.deepcopy(FIXTURE)
    doc["domain"] = domain
    if passing:
        for c in doc["checks"]:
            if c["outcome"] in ("failed", "could_not_judge"):
                c.update(outcome="passed", expected=None, actual=None, cause=None, reproduce=None, message=None)
    return to_json(from_json(doc))  # counts, verdict and exit status as the run model writes them


def edgeverify(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgeverify.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, env={**os.environ, **(env or {})})


def write_shards(folder: Path, docs: list[dict[str, Any]], spec_n: int) -> list[Path]:
    """Lay the docs out as `edgeverify run --shard K/N` jobs would: shard-K/<domain>/edgeverify.json."""
    names = [f"targets/{d['domain']}.yaml" for d in docs]
    by_name = dict(zip(names, docs))
    shards = []
    for k in range(1, spec_n + 1):
        shard_dir = folder / f"reports-{k}"
        for name in shard(names, f"{k}/{spec_n}"):
            doc = by_name[name]
            (shard_dir / doc["domain"]).mkdir(parents=True)
            (shard_dir / doc["domain"] / "edgeverify.json").write_text(json.dumps(doc))
        shards.append(shard_dir)
    return shards


# -- shard

def test_shards_are_disjoint_cover_everything_and_do_not_depend_on_input_order():
    paths = [f"targets/site-{i:02d}.yaml" for i in range(23)]
    parts = [shard(paths, f"{k}/4") for k in range(1, 5)]
    assert sorted(p for part in parts for p in part) == sorted(paths)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    shuffled = paths[::-1][5:] + paths[::-1][:5]
    assert [shard(shuffled, f"{k}/4") for k in range(1, 5)] == parts
    assert shard(paths + paths[:3], "2/4") == parts[1]


def test_more_shards_than_targets_leaves_some_empty():
    assert [shard(["a.yaml", "b.yaml"], f"{k}/3") for k in (1, 2, 3)] == [["a.yaml"], ["b.yaml"], []]


@pytest.mark.parametrize("spec", ["0/4", "5/4", "1/0", "a/b", "", "1-4", "2", "-1/4", "1/4/2"])
def test_bad_shard_specs_are_refused(spec):
    with pytest.raises(TargetError, match="shard"):
        shard(["a.yaml"], spec)


def test_shard_command(tmp_path):
    ok = edgeverify("shard", "2/3", "c.yaml", "a.yaml", "b.yaml", "d.yaml")
    assert ok.returncode == 0 and ok.stdout.split() == ["b.yaml"]
    bad = edgeverify("shard", "4/3", "a.yaml")
    assert bad.returncode == 4 and "K must be between 1 and N" in bad.stderr and "Traceback" not in bad.stderr


# -- verdict

# -- merge

def test_merge_finds_every_shard_report(tmp_path):
    docs = [doc_for("a.example.test", True), doc_for("b.example.test", False), doc_for("c.example.test", True)]
    shards = write_shards(tmp_path, docs, 2)
    merged = merge([str(s) for s in shards])
    assert [d["domain"] for d in merged] == ["a.example.test", "b.example.test", "c.example.test"]
    assert merge([str(tmp_path)]) == merged  # the folder holding the downloaded artifacts
    assert merge([str(shards[0]), str(shards[0] / ".")] + [str(shards[1])]) == merged  # same folder twice


def test_sharded_and_merged_gives_the_same_summary(tmp_path):
    docs = [doc_for(f"site{i}.example.test", i != 2) for i in range(5)]
    merged = merge([str(s) for s in write_shards(tmp_path, docs, 2)])
    assert fleet_markdown(merged) == fleet_markdown(sorted(docs, key=lambda d: d["domain"]))


def test_merge_refuses_a_domain_reported_twice(tmp_path):
    for shard_dir in ("reports-1", "reports-2"):
        (tmp_path / shard_dir / "www.example.test").mkdir(parents=True)
        (tmp_path / shard_dir / "www.example.test" / "edgeverify.json").write_text(json.dumps(doc_for("www.example.test", True)))
    with pytest.raises(TargetError) as err:
        merge([str(tmp_path)])
    assert "domain www.example.test is already reported by" in str(err.value)
    assert "reports-1" in str(err.value) and "reports-2" in str(err.value)


@pytest.mark.parametrize("content,message", [
    (json.dumps({"domain": "a.test", "counts": {}, "checks": []}), "no 'schema' key; this edgeverify reads schema 3"),
    (json.dumps({**doc_for("a.test", True), "schema": 2}), "schema 2; this edgeverify reads schema 3"),
    ('{\n  "schema": 3,\n  "domain": \n}', "line 4: not JSON"),
    ("[1, 2]", "[1, 2] is not of type 'object'"),
    (json.dumps({**doc_for("a.test", True), "domain": "../../etc"}), "key 'domain': '../../etc' is not a host name"),
    (json.dumps({**doc_for("a.test", True), "checks": None}), "key 'checks': None is not of type 'array'"),
    (json.dumps({**doc_for("a.test", True), "checks": [{"id": "x", "outcome": "green"}]}), "key 'checks/0"),
])
def test_merge_refuses_what_is_not_a_schema_3_report(tmp_path, content, message):
    path = tmp_path / "edgeverify.json"
    path.write_text(content)
    with pytest.raises(TargetError) as err:
        merge([str(path)])
    assert str(path) in str(err.value) and message in str(err.value)


def test_merge_refuses_missing_and_empty_inputs(tmp_path):
    with pytest.raises(TargetError, match="no such file or folder"):
        merge([str(tmp_path / "nope")])
    with pytest.raises(TargetError, match="no edgeverify.json in this folder"):
        merge([str(tmp_path)])


# -- the combined summary

def test_markdown_has_a_row_per_target_failing_first(tmp_path):
    docs = [doc_for("a.example.test", True), doc_for("b.example.test", False), doc_for("c.example.test", True)]
    md = fleet_markdown(docs)
    rows = [line for line in md.splitlines() if line.startswith("| ") and ".example.test" in line]
    assert [re.search(r"[abc]\.example\.test", r).group(0) for r in rows] == ["b.example.test", "a.example.test",
                                                                            "c.example.test"]
    assert "| failed | 40 | 6 | 0 | 0 | 1 | 11 | 0 |" in rows[0] and "cors.refuses_foreign: 10 problems:" in rows[0]
    assert rows[1].count("| passed |") == 1 and "[report.html](a.example.test/report.html)" in rows[1]
    assert md.startswith("# edgeverify: 3 targets, 1 of 3 not passed")


def test_markdown_cells_cannot_break_the_table():
    doc = doc_for("a.example.test", False)
    next(c for c in doc["checks"] if c["outcome"] == "failed")["actual"] = "a | b <img src=x>"
    row = next(line for line in fleet_markdown([doc]).splitlines() if "a.example.test" in line and "|" in line)
    assert "a \\| b &lt;img src=x&gt;" in row and len(re.findall(r"(?<!\\)\|", row)) == 14  # 13 cells


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and "target-row" in a.get("class", ""):
            self.rows.append(a)
        if tag == "a":
            self.links.append(a.get("href", ""))


def test_html_summary_a_row_per_target_linking_its_report():
    docs = [doc_for("a.example.test", True), doc_for("b.example.test", False)]
    page = _Rows()
    page.feed(render_fleet(docs))
    assert [(r["data-domain"], r["data-verdict"]) for r in page.rows] == [("b.example.test", "failed"),
                                                                         ("a.example.test", "passed")]
    assert page.links == ["b.example.test/report.html", "a.example.test/report.html"]


def test_html_summary_escapes_and_links_safely():
    doc = doc_for("a.example.test", False)
    doc["domain"] = "javascript:alert(1)//<b>"
    html = render_fleet([doc])
    assert "<b>" not in html and not re.search(r'href="[a-z]+:', html)
    assert 'href="javascript%3Aalert%281%29%2F%2F%3Cb%3E/report.html"' in html  # a relative path, not a scheme


def test_write_fleet(tmp_path):
    paths = write_fleet([doc_for("a.example.test", True)], tmp_path / "out")
    assert [p.name for p in paths] == ["summary.md", "summary.html"] and all(p.stat().st_size for p in paths)


# -- the merge command

def test_merge_command_exit_codes_and_files(tmp_path):
    good = write_shards(tmp_path / "good", [doc_for("a.example.test", True), doc_for("c.example.test", True)], 2)
    summary = tmp_path / "step-summary.md"
    run = edgeverify("merge", *map(str, good), "-o", str(tmp_path / "out-good"),
                     env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert run.returncode == 0, run.stderr
    assert "2 targets, all passed" in run.stdout
    assert (tmp_path / "out-good" / "a.example.test" / "report.html").exists()
    assert summary.read_text() == (tmp_path / "out-good" / "summary.md").read_text()
    write_shards(tmp_path / "bad", [doc_for("a.example.test", True), doc_for("b.example.test", False)], 2)
    run = edgeverify("merge", str(tmp_path / "bad"), "-o", str(tmp_path / "out-bad"))
    assert run.returncode == 1 and "1 not passed: b.example.test" in run.stdout
    (tmp_path / "junk.json").write_text("{}")
    run = edgeverify("merge", str(tmp_path / "junk.json"))
    assert run.returncode == 4 and "junk.json: no 'schema' key" in run.stderr and "Traceback" not in run.stderr
    (tmp_path / "file").write_text("x")
    run = edgeverify("merge", str(tmp_path / "good"), "-o", str(tmp_path / "file"))
    assert run.returncode == 4 and "cannot write the summary there" in run.stderr
