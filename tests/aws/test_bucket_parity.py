"""Bucket parity against the lab edge: the moto bucket holds the same bytes the lab's static origin serves."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from edgeverify.aws import resources
from edgeverify.errors import TargetError
from edgeverify.exchange import Exchange
from edgeverify.lab import DOMAIN
from edgeverify.rules import LISTED, Violation
from edgeverify.rules import config as rules
from edgeverify.target import Target

BUCKET = "parity-bucket"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab_edge(lab: Any) -> Any:
    return lab.edge()


@pytest.fixture(scope="module")
def edge_target(lab_edge: Any) -> Target:
    return Target(domain=DOMAIN, connect_to=lab_edge.connect_to, ca_bundle=lab_edge.ca_bundle)


@pytest.fixture(scope="module")
def site(lab: Any) -> Path:
    return lab.root / "site"


def site_files(site: Path) -> dict[str, bytes]:
    """What the lab's static origin serves: the bucket dir, plus index.html (the new release's entry document)."""
    files = {p.relative_to(site / "bucket").as_posix(): p.read_bytes()
             for p in (site / "bucket").rglob("*") if p.is_file()}
    files["index.html"] = (site / "index" / "new.html").read_bytes()
    return files


@pytest.fixture(scope="module")
def bucket(s3: Any, site: Path) -> Any:
    s3.create_bucket(Bucket=BUCKET)
    for key, body in site_files(site).items():
        s3.put_object(Bucket=BUCKET, Key=f"site/{key}", Body=body)
    return s3


def compare(s3: Any, target: Target, max_objects: int = 10_000,
            concurrency: int = 16) -> tuple[list[rules.ParityRow], int]:
    run = resources.bucket_parity(s3, BUCKET, "site/", target, "/site", max_objects, concurrency)
    assert run.planned == min(max_objects, run.total)
    return run.rows, run.total


def test_same_objects_pass(bucket, edge_target):
    rows, total = compare(bucket, edge_target)
    assert total >= 10 and len(rows) == total
    rules.check_bucket_parity(rows, BUCKET, total)
    assert rules.parity_scope(len(rows), total) == f"checked {total} of {total} objects"


def test_above_the_limit_a_sample_is_checked_and_said(bucket, edge_target):
    rows, total = compare(bucket, edge_target, max_objects=4)
    assert len(rows) == 4 < total
    rules.check_bucket_parity(rows, BUCKET, total)
    assert rules.parity_scope(4, total).startswith(f"checked 4 of {total} objects (a sample")


def test_the_sample_holds_the_newest_objects(bucket, edge_target):
    time.sleep(1.1)  # S3 (and moto) list LastModified to the second
    bucket.put_object(Bucket=BUCKET, Key="site/zz-newest.txt", Body=b"new\n")  # last in key order, newest
    try:
        rows, total = compare(bucket, edge_target, max_objects=4)
    finally:
        bucket.delete_object(Bucket=BUCKET, Key="site/zz-newest.txt")
    assert len(rows) == 4 and "site/zz-newest.txt" in [r.obj.key for r in rows]


@pytest.mark.parametrize("max_objects, concurrency, message", [
    (0, 16, "aws.parity_max_objects is 0: give at least 1"),
    (10, 0, "aws.parity_concurrency is 0: give at least 1")])
def test_limits_below_one_are_refused(bucket, edge_target, max_objects, concurrency, message):
    with pytest.raises(TargetError, match=message):
        compare(bucket, edge_target, max_objects=max_objects, concurrency=concurrency)


def test_heads_reuse_a_bounded_set_of_connections(bucket, edge_target, lab_edge):
    """The lab's access log records nginx's connection id per request: HEADs must share connections."""
    log = lab_edge.root / "access.log"
    before = log.read_text().count("\n")
    rows, _ = compare(bucket, edge_target, concurrency=2)
    time.sleep(0.2)  # nginx logs a request just after answering it
    paths = {resources.served_path(r.obj.key, "/site") for r in rows}
    heads = [line for line in log.read_text().splitlines()[before:]
             if '"HEAD ' in line and line.split('"HEAD ', 1)[1].split()[0] in paths]
    connections = {re.search(r"conn=(\d+)", line).group(1) for line in heads}
    assert len(heads) == len(rows) >= 10
    assert len(connections) <= 2, f"{len(heads)} HEADs over {len(connections)} connections"


def test_changed_and_unserved_objects_are_named_with_both_sides(bucket, edge_target, site):
    bucket.put_object(Bucket=BUCKET, Key="site/robots.txt", Body=b"User-agent: *\nDisallow: /\n")
    bucket.put_object(Bucket=BUCKET, Key="site/assets/only-in-bucket.js", Body=b"export {};\n")
    try:
        rows, total = compare(bucket, edge_target)
        with pytest.raises(Violation) as info:
            rules.check_bucket_parity(rows, BUCKET, total)
    finally:
        bucket.put_object(Bucket=BUCKET, Key="site/robots.txt", Body=site_files(site)["robots.txt"])
        bucket.delete_object(Bucket=BUCKET, Key="site/assets/only-in-bucket.js")
    actual = info.value.actual
    assert actual.startswith(f"2 of {total} checked objects differ:")
    served = site_files(site)["robots.txt"]
    assert re.search(r"site/robots.txt: bucket 26 bytes, ETag [0-9a-f]{32}; edge "
                     rf"{len(served)} bytes, ETag {hashlib.md5(served).hexdigest()}", actual), actual
    assert "site/assets/only-in-bucket.js: bucket 11 bytes, ETag " in actual
    assert "edge answered 403 Forbidden (missing at the edge)" in actual
    rendered = info.value.render()
    assert "Reproduce: curl" in rendered and "--connect-to" in rendered


def test_unreachable_edge_is_one_finding(bucket):
    closed = Target(domain=DOMAIN, connect_to=[f"{DOMAIN}:443:127.0.0.1:9"])
    run = resources.bucket_parity(bucket, BUCKET, "site/", closed, "/site")
    with pytest.raises(Violation) as info:
        rules.check_bucket_parity(run.rows, BUCKET, run.total, run.planned)
    actual = info.value.actual
    assert actual.startswith("could not reach the edge: ") and "Connection refused" in actual and "differ" not in actual
    assert "upload" not in (info.value.cause or "") and "connect_to" in (info.value.cause or "")


def test_an_unreachable_edge_is_not_asked_thousands_of_times():
    closed = Target(domain=DOMAIN, connect_to=[f"{DOMAIN}:443:127.0.0.1:9"])
    many = [rules.BucketObject(f"k{i}.js", 1, "e") for i in range(2000)]
    rows = resources.fetch_from_edge(closed, many, concurrency=4)
    assert resources.PROBE <= len(rows) < 100
    with pytest.raises(Violation, match=rf"the other {len(many) - len(rows)} were not sent"):
        rules.check_bucket_parity(rows, BUCKET, len(many), len(many))


def test_cap_on_listed_keys():
    rows = [rules.ParityRow(rules.BucketObject(f"k{i}", 1, "e"), Exchange("HEAD", f"https://x.test/k{i}", status=404))
            for i in range(LISTED + 5)]
    with pytest.raises(Violation, match=rf"{LISTED + 5} of {LISTED + 5} checked objects differ:(.|\n)*and 5 more$"):
        rules.check_bucket_parity(rows, "b")


def test_a_few_silent_answers_are_differences_not_an_outage():
    rows = [rules.ParityRow(rules.BucketObject(f"k{i}", 1, "e"),
                            Exchange("HEAD", f"https://x.test/k{i}", status=None, error="connection reset")
                            if i == 0 else Exchange("HEAD", f"https://x.test/k{i}", status=200,
                                                    headers=[("ETag", '"e"'), ("Content-Length", "1")]))
            for i in range(10)]
    with pytest.raises(Violation, match=r"^config.bucket_parity: .*actual 1 of 10 checked objects differ: k0: bucket 1 "
                                        r"bytes, ETag e; edge gave no answer \(connection reset\)"):
        rules.check_bucket_parity(rows, "b")


def test_suite_checks_parity_through_the_edge(bucket, edge_target, site, cf, moto_endpoint, tmp_path):
    """The suite's parity check in a real session, selected with -k parity: it says how much it checked."""
    from moto_configs import create, good_config

    config = good_config()
    config["Origins"]["Items"][0].update(DomainName=f"{BUCKET}.s3.us-east-1.amazonaws.com", OriginPath="/site")
    distribution_id = create(cf, config)
    target = tmp_path / "target.yaml"
    target.write_text(f"domain: {DOMAIN}\nconnect_to: {list(edge_target.connect_to)}\n"
                      f"ca_bundle: {edge_target.ca_bundle}\n"
                      f"aws:\n  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"
                      "  bucket_prefix: site/\n  parity_concurrency: 4\n")
    junit = tmp_path / "junit.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "suites/test_config.py", "--target", str(target),
                             "-k", "parity", "-p", "no:cacheprovider", "--reports-dir", str(tmp_path / "reports"),
                             f"--junitxml={junit}", "-o", "junit_family=xunit1"],
                            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert "1 passed" in result.stdout and "deselected" in result.stdout, result.stdout
    listed = len(site_files(site))
    outs = [case.findtext("system-out") for case in ET.parse(junit).iter("testcase")]
    assert outs == [f"checked: {listed} of {listed}"], outs
    checks = json.loads((tmp_path / "reports" / "edgeverify.json").read_text())["checks"]
    assert [c["properties"] for c in checks if c["rule"] == "config.bucket_parity"] == [
        [["checked", f"{listed} of {listed}"]]]


def test_content_hash_when_the_edge_sends_no_etag():
    body = b"console.log('hi');\n"
    obj = rules.BucketObject("app.js", len(body), hashlib.md5(body).hexdigest())
    same = Exchange("GET", "https://x.test/app.js", status=200, body=body)
    other = Exchange("GET", "https://x.test/app.js", status=200, body=body.upper())
    assert rules.parity_problem(rules.ParityRow(obj, same)) is None
    assert "edge 19 bytes, ETag " + hashlib.md5(body.upper()).hexdigest() in \
        rules.parity_problem(rules.ParityRow(obj, other))
