"""The benchmark's edge (tests/aws/parity_edge.py) proven both ways at a small scale: a bucket it mirrors passes,
and the differences planted in it are each named, size and ETag both sides."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from edgeverify.aws import resources
from edgeverify.lab import DOMAIN
from edgeverify.rules import Violation
from edgeverify.rules import config as rules
from edgeverify.target import Target
from parity_edge import ObjectEdge

BUCKET = "mirror-bucket"
FILES = {f"assets/{i:03d}/chunk-{hashlib.sha1(str(i).encode()).hexdigest()[:8]}.js": f"export const n = {i};\n".encode()
         * (1 + i % 7) for i in range(120)}


@pytest.fixture(scope="module")
def mirrored(s3: Any) -> Any:
    s3.create_bucket(Bucket=BUCKET)
    for key, body in FILES.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return s3


def run(s3: Any, edge: ObjectEdge) -> resources.ParityRun:
    target = Target(domain=DOMAIN, connect_to=edge.connect_to, ca_bundle=edge.ca_bundle)
    return resources.bucket_parity(s3, BUCKET, "", target, concurrency=4)


def test_a_mirror_passes(mirrored, tmp_path):
    with ObjectEdge(tmp_path, FILES) as edge:
        result = run(mirrored, edge)
    assert (len(result.rows), result.total) == (len(FILES), len(FILES))
    rules.check_bucket_parity(result.rows, BUCKET, result.total, result.planned)


def test_planted_differences_are_each_named(mirrored, tmp_path):
    keys = sorted(FILES)
    served = dict(FILES)
    del served[keys[3]]
    served[keys[50]] = FILES[keys[50]] + b"// old build\n"
    stale = {keys[90]: "0" * 32}  # same bytes, another ETag: what a stale edge copy looks like
    with ObjectEdge(tmp_path, served, stale) as edge:
        result = run(mirrored, edge)
    with pytest.raises(Violation) as info:
        rules.check_bucket_parity(result.rows, BUCKET, result.total, result.planned)
    actual = info.value.actual
    assert actual.startswith(f"3 of {len(FILES)} checked objects differ:")
    assert f"{keys[3]}: bucket {len(FILES[keys[3]])} bytes" in actual and "edge answered 404 Not Found" in actual
    assert (f"{keys[50]}: bucket {len(FILES[keys[50]])} bytes, ETag {hashlib.md5(FILES[keys[50]]).hexdigest()}; "
            f"edge {len(served[keys[50]])} bytes, ETag {hashlib.md5(served[keys[50]]).hexdigest()}") in actual
    assert f"{keys[90]}: bucket {len(FILES[keys[90]])} bytes" in actual and f"ETag {'0' * 32}" in actual
