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


class Listing:
    """A bucket listing as boto3's list_objects_v2 paginator yields it, pages of `page` objects."""

    def __init__(self, objects: list[dict[str, Any]], page: int = 7) -> None:
        self.objects, self.page = objects, page

    def get_paginator(self, name: str) -> Any:
        assert name == "list_objects_v2"
        return self

    def paginate(self, **kwargs: Any) -> Any:
        for i in range(0, len(self.objects), self.page):
            yield {"Contents": self.objects[i:i + self.page]}


def test_above_the_limit_the_sample_is_a_key_order_half_and_the_newest(tmp_path):
    import datetime

    keys = sorted(FILES)[:50]
    start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    listed = [{"Key": k, "Size": len(FILES[k]), "ETag": f'"{hashlib.md5(FILES[k]).hexdigest()}"',
               "LastModified": start + datetime.timedelta(minutes=(i * 37) % 50)} for i, k in enumerate(keys)]
    newest = [o["Key"] for o in sorted(listed, key=lambda o: o["LastModified"], reverse=True)]
    with ObjectEdge(tmp_path, {k: FILES[k] for k in keys}) as edge:
        target = Target(domain=DOMAIN, connect_to=edge.connect_to, ca_bundle=edge.ca_bundle)
        result = resources.bucket_parity(Listing(listed), BUCKET, "", target, max_objects=10, concurrency=2)
    checked = [r.obj.key for r in result.rows]
    assert (result.total, result.planned, len(checked)) == (50, 10, 10)
    assert checked[:5] == keys[:5]
    assert checked[5:] == [k for k in newest if k not in keys[:5]][:5]
    rules.check_bucket_parity(result.rows, BUCKET, result.total, result.planned)
