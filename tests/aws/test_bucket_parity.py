"""Bucket parity against the lab edge: the moto bucket holds the same bytes the lab's static origin serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgeverify.aws import resources
from edgeverify.client import EdgeClient
from edgeverify.lab import DOMAIN
from edgeverify.rules import LISTED, Violation
from edgeverify.rules import config as rules
from edgeverify.target import Target

BUCKET = "parity-bucket"


@pytest.fixture(scope="module")
def lab_edge(lab: Any) -> Iterator[EdgeClient]:
    edge = lab.edge()
    client = EdgeClient(Target(domain=DOMAIN, connect_to=edge.connect_to, ca_bundle=edge.ca_bundle))
    yield client
    client.session.close()


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


def compare(s3: Any, edge: EdgeClient, sample: int = 200) -> tuple[list[rules.ParityRow], int]:
    objects, total = resources.list_bucket(s3, BUCKET, "site/", sample)
    return resources.fetch_from_edge(edge, objects, origin_path="/site"), total


def test_same_objects_pass(bucket, lab_edge):
    rows, total = compare(bucket, lab_edge)
    assert total >= 10 and len(rows) == total
    rules.check_bucket_parity(rows, BUCKET)


def test_sample_bounds_the_requests(bucket, lab_edge):
    rows, total = compare(bucket, lab_edge, sample=4)
    assert len(rows) == 4 < total
    rules.check_bucket_parity(rows, BUCKET)


def test_changed_and_unserved_objects_are_named(bucket, lab_edge, site):
    bucket.put_object(Bucket=BUCKET, Key="site/robots.txt", Body=b"User-agent: *\nDisallow: /\n")
    bucket.put_object(Bucket=BUCKET, Key="site/assets/only-in-bucket.js", Body=b"export {};\n")
    try:
        rows, _ = compare(bucket, lab_edge)
        with pytest.raises(Violation) as info:
            rules.check_bucket_parity(rows, BUCKET)
    finally:
        bucket.put_object(Bucket=BUCKET, Key="site/robots.txt", Body=site_files(site)["robots.txt"])
        bucket.delete_object(Bucket=BUCKET, Key="site/assets/only-in-bucket.js")
    actual = info.value.actual
    assert actual.startswith("2 of ") and "sampled objects differ:" in actual
    assert "robots.txt: expected 26 bytes, ETag " in actual and "edge serves 23 bytes, ETag " in actual
    assert "site/assets/only-in-bucket.js: expected 11 bytes" in actual and "edge answered 403" in actual
    rendered = info.value.render()
    assert "Reproduce: curl" in rendered and "--connect-to" in rendered


def test_cap_on_listed_keys():
    from edgeverify.exchange import Exchange

    rows = [rules.ParityRow(rules.BucketObject(f"k{i}", 1, "e"), Exchange("HEAD", f"https://x.test/k{i}", status=404))
            for i in range(LISTED + 5)]
    with pytest.raises(Violation, match=rf"{LISTED + 5} of {LISTED + 5} sampled objects differ:(.|\n)*and 5 more$"):
        rules.check_bucket_parity(rows, "b")


def test_suite_checks_parity_through_the_edge(bucket, lab_edge, cf, moto_endpoint, tmp_path):
    """The suite's parity test, in a real session: bucket and origin path read from the distribution."""
    import os
    import subprocess
    import sys

    from moto_configs import create, good_config

    config = good_config()
    config["Origins"]["Items"][0].update(DomainName=f"{BUCKET}.s3.us-east-1.amazonaws.com", OriginPath="/site")
    distribution_id = create(cf, config)
    target = tmp_path / "target.yaml"
    target.write_text(f"domain: {DOMAIN}\nconnect_to: {list(lab_edge.connect_to)}\nca_bundle: {lab_edge.target.ca_bundle}\n"
                      f"aws:\n  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"
                      "  bucket_prefix: site/\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "suites/test_config.py", "--target", str(target),
                             "-k", "bucket", "-p", "no:cacheprovider", "--reports-dir", str(tmp_path / "reports")],
                            cwd=Path(__file__).resolve().parents[2], env=dict(os.environ),
                            capture_output=True, text=True, timeout=60)
    assert "1 passed" in result.stdout, result.stdout


def test_content_hash_when_the_edge_sends_no_etag():
    import hashlib

    from edgeverify.exchange import Exchange

    body = b"console.log('hi');\n"
    obj = rules.BucketObject("app.js", len(body), hashlib.md5(body).hexdigest())
    same = Exchange("GET", "https://x.test/app.js", status=200, body=body)
    other = Exchange("GET", "https://x.test/app.js", status=200, body=body.upper())
    assert rules.parity_problem(rules.ParityRow(obj, same)) is None
    assert "edge serves 19 bytes, ETag " + hashlib.md5(body.upper()).hexdigest() in \
        rules.parity_problem(rules.ParityRow(obj, other))
