"""JUnit by the conventions CI reporters read, validated with xmlschema against the schema Jenkins reads
(tests/ci/data/junit-jenkins.xsd, after jenkinsci/xunit-plugin's junit-10.xsd): a testsuite per target named by
its domain, testcase names with the rule id and subject, classname the suite, each check's rule, severity,
attempts, likely cause and edge as testsuite properties; from a three-target fleet and from `merge`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

xmlschema = pytest.importorskip("xmlschema")

ROOT = Path(__file__).resolve().parents[2]
XSD = xmlschema.XMLSchema(str(Path(__file__).with_name("data") / "junit-jenkins.xsd"))
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEVERIFY_", "GITHUB_"))}
    return subprocess.run([sys.executable, "-m", "edgeverify.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _targets(lab, folder: Path) -> list[Path]:
    text, made = LAB_TARGET.read_text(), []
    for name, faults in (("alpha", []), ("bravo", []), ("charlie", ["hsts-short"])):
        edge = lab.edge(faults=faults)
        domain = f"{name}.example.test"
        connect = [spec.replace("www.example.test", domain) for spec in edge.connect_to]
        body = re.sub(r"^domain: .*$", f"domain: {domain}", text, flags=re.M)
        path = folder / f"{name}.yaml"
        path.write_text(body + f"\nconnect_to: {json.dumps(connect)}\nca_bundle: {edge.ca_bundle}\n")
        made.append(path)
    return made


def _check(junit: Path, domains: set[str], *report_roots: Path) -> None:
    XSD.validate(str(junit))  # raises with the offending element if not valid
    root = ET.parse(junit).getroot()
    suites = root.findall("testsuite")
    assert {s.get("name") for s in suites} == domains and len(suites) == len(domains)
    for suite in suites:
        docs = [json.loads(f.read_text()) for r in report_roots or (junit.parent,) for f in r.rglob("edgeverify.json")]
        doc = next(d for d in docs if d["domain"] == suite.get("name"))
        props = {p.get("name"): p.get("value") for p in suite.find("properties")}
        cases = suite.findall("testcase")
        assert len(cases) == len(doc["checks"]) == int(suite.get("tests"))
        for check in doc["checks"]:
            case = next(c for c in cases if c.get("name").endswith(check["id"]))
            assert case.get("classname") == check["suite"]
            if check["rule"]:
                assert case.get("name") == f"{check['key']}: {check['id']}" and check["key"].startswith(check["rule"])
                assert props[f"check[{check['id']}].rule"] == check["rule"]
                assert props[f"check[{check['id']}].severity"] == check["severity"]
            assert props[f"check[{check['id']}].attempts"] == str(check["attempts"])
            if check["cause"]:
                assert props[f"check[{check['id']}].cause"] == check["cause"]
            if check["pops"]:
                assert props[f"check[{check['id']}].edge"] == " ".join(check["pops"])
            failed = case.find("failure")
            assert (failed is not None) == (check["outcome"] == "failed")


def test_junit_of_a_three_target_fleet_and_of_a_merge_validate_with_a_testsuite_per_domain(lab, tmp_path):
    paths = [str(p) for p in _targets(lab, tmp_path)]
    domains = {"alpha.example.test", "bravo.example.test", "charlie.example.test"}
    run = _cli("run", *paths, "--reports-dir", str(tmp_path / "all"), "--history", "off",
               "--propagation-timeout", "0", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    _check(tmp_path / "all" / "junit.xml", domains)
    charlie = ET.parse(tmp_path / "all" / "junit.xml").getroot().find("testsuite[@name='charlie.example.test']")
    failed = [c for c in charlie.iter("testcase") if c.find("failure") is not None]
    assert any(c.get("name").startswith("https.hsts[") for c in failed)
    for k in (1, 2):
        shard = _cli("run", "--shard", f"{k}/2", *paths, "--reports-dir", str(tmp_path / f"shard{k}"),
                     "--history", "off", "--propagation-timeout", "0", cwd=tmp_path)
        assert shard.returncode in (0, 1), shard.stdout + shard.stderr
    merged = _cli("merge", str(tmp_path / "shard1"), str(tmp_path / "shard2"), "-o", str(tmp_path / "merged"),
                  cwd=tmp_path)
    assert merged.returncode == 1 and "merged/junit.xml" in merged.stdout, merged.stdout + merged.stderr
    _check(tmp_path / "merged" / "junit.xml", domains, tmp_path / "shard1", tmp_path / "shard2")


def test_the_schema_refuses_what_jenkins_refuses(tmp_path):
    """Properties inside a testcase (pytest's record_property) and a testsuite without failures are refused."""
    bad = tmp_path / "bad.xml"
    bad.write_text('<testsuites><testsuite name="x" tests="1" failures="0" errors="0"><testcase name="t">'
                   '<properties><property name="a" value="b"/></properties></testcase></testsuite></testsuites>')
    assert not XSD.is_valid(str(bad))
    bad.write_text('<testsuites><testsuite name="x" tests="1"><testcase name="t"/></testsuite></testsuites>')
    assert not XSD.is_valid(str(bad))
