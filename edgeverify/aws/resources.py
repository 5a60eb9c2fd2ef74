"""Reading the deployed resources: the distribution, the CloudFormation stack that holds it, the bucket listing,
and the edge's answers for the listed objects (bucket parity).
"""

from __future__ import annotations

import heapq
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..client import DEFAULT_CONNECTIONS, EdgeClient
from ..errors import AwsError, TargetError
from ..exchange import Exchange
from ..rules.config import (MANAGED_POLICIES, BucketObject, ParityRow, behaviors, normalize_etag, origin_of,
                            parity_problem, s3_bucket, static_behaviors)
from ..target import Aws, Target
from .session import aws_errors, client

MAX_CONCURRENCY = 64  # parity requests in flight at most, whatever the target asks: a check, not a load test
PROBE = 32  # answers looked at before deciding the edge is unreachable
_DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{10,20}$")


@dataclass(slots=True)
class Distribution:
    id: str
    config: dict[str, Any]  # DistributionConfig as boto3 returns it
    status: str
    domain_name: str  # dxxxx.cloudfront.net


@dataclass(slots=True)
class Stack:
    name: str
    distributions: list[tuple[str, str]] = field(default_factory=list)  # (id, where it was found)
    buckets: list[tuple[str, str]] = field(default_factory=list)  # (name, where it was found)

    def only_distribution(self) -> tuple[str, str]:
        """(id, where it was found) of the stack's one distribution; AwsError when it holds none or several."""
        if len(self.distributions) != 1:
            found = ", ".join(f"{d} ({w})" for d, w in self.distributions) or "none"
            raise AwsError(f"stack {self.name} holds {len(self.distributions)} CloudFront distributions ({found}); "
                           "name one with aws.distribution_id / --distribution-id (or give the stack an output "
                           "whose key contains 'Distribution').")
        return self.distributions[0]


def get_distribution(cf: Any, distribution_id: str) -> Distribution:
    with aws_errors(f"reading CloudFront distribution {distribution_id}"):
        found = cf.get_distribution(Id=distribution_id)["Distribution"]
    return Distribution(found["Id"], found["DistributionConfig"], found.get("Status", ""), found.get("DomainName", ""))


def read_stack(cfn: Any, cf: Any, name: str) -> Stack:
    """The distributions and buckets a stack holds, as resources or as outputs (ids or *.cloudfront.net names)."""
    stack = Stack(name)
    with aws_errors(f"reading CloudFormation stack {name}"):
        described = cfn.describe_stacks(StackName=name)["Stacks"][0]
        resources = [r for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name)
                     for r in page["StackResourceSummaries"]]
    for res in resources:
        where = f"resource {res.get('LogicalResourceId')} of stack {name}"
        if res.get("ResourceType") == "AWS::CloudFront::Distribution" and res.get("PhysicalResourceId"):
            stack.distributions.append((res["PhysicalResourceId"], where))
        elif res.get("ResourceType") == "AWS::S3::Bucket" and res.get("PhysicalResourceId"):
            stack.buckets.append((res["PhysicalResourceId"], where))
    known = {d for d, _ in stack.distributions}
    for output in described.get("Outputs") or []:
        key, value = str(output.get("OutputKey", "")), str(output.get("OutputValue", "")).strip()
        where = f"output {key} of stack {name}"
        if value.endswith(".cloudfront.net"):
            value = _id_for_domain(cf, value) or value
        if "distribution" in key.lower() and _DISTRIBUTION_ID.match(value) and value not in known:
            stack.distributions.append((value, where))
            known.add(value)
        elif "bucket" in key.lower() and value and value not in {b for b, _ in stack.buckets}:
            stack.buckets.append((value.removeprefix("arn:aws:s3:::"), where))
    return stack


def _id_for_domain(cf: Any, domain: str) -> str | None:
    with aws_errors("listing CloudFront distributions"):
        for page in cf.get_paginator("list_distributions").paginate():
            for summary in (page.get("DistributionList") or {}).get("Items") or []:
                if summary.get("DomainName", "").lower() == domain.lower():
                    return str(summary["Id"])
    return None


def resolve_distribution(aws: Aws, cf: Any | None = None, cfn: Any | None = None) -> tuple[str, str]:
    """(distribution id, where it came from) from aws.distribution_id, else the one distribution in aws.stack."""
    if aws.distribution_id:
        return aws.distribution_id, "aws.distribution_id"
    if not aws.stack:
        raise AwsError("no aws.distribution_id or aws.stack in the target.")
    cf = cf or client("cloudfront", aws)
    return read_stack(cfn or client("cloudformation", aws), cf, aws.stack).only_distribution()


def cache_policies(cf: Any, config: dict[str, Any]) -> dict[str, Any]:
    """The custom cache policies' configs by id (managed ones are known by id); an unreadable one is left out, and
    the rules then name it as not verifiable."""
    found: dict[str, Any] = {}
    for _, behavior in behaviors(config):
        policy_id = behavior.get("CachePolicyId")
        if policy_id and policy_id not in MANAGED_POLICIES and policy_id not in found:
            try:
                with aws_errors(f"reading cache policy {policy_id}"):
                    found[policy_id] = cf.get_cache_policy(Id=policy_id)["CachePolicy"]["CachePolicyConfig"]
            except AwsError:
                pass
    return found


def certificate_names(aws: Aws, arn: str) -> list[str]:
    """The names an ACM certificate covers (domain name and SANs), read in the certificate's own region."""
    parts = arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[3] else "us-east-1"  # CloudFront's certificates live there
    acm = client("acm", aws, region_name=region)
    with aws_errors(f"reading ACM certificate {arn}"):
        cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    names = [str(cert.get("DomainName") or ""), *(cert.get("SubjectAlternativeNames") or [])]
    return [name for name in dict.fromkeys(names) if name]


def static_origin(config: dict[str, Any]) -> tuple[str, str, str] | None:
    """(bucket, origin path, domain) of the S3 origin the default (else the last static) behavior uses."""
    for _, behavior in reversed(static_behaviors(config)):  # the default behavior comes last
        origin = origin_of(config, behavior)
        found = s3_bucket(origin)
        if found:
            return found[0], str(origin.get("OriginPath") or ""), str(origin.get("DomainName"))
    return None


@dataclass(slots=True)
class ParityRun:
    """What bucket parity checked: the rows judged, how many objects the prefix holds, how many were chosen."""

    rows: list[ParityRow]
    total: int
    planned: int


def _workers(target: Target, concurrency: int) -> int:
    """Threads asking the edge: the concurrency asked for, within the client's connection pool (a thread
    beyond it would only wait for a free connection) and MAX_CONCURRENCY."""
    pool = int(getattr(target, "max_connections", DEFAULT_CONNECTIONS))
    return max(1, min(concurrency, pool, MAX_CONCURRENCY))


def _validate_limits(max_objects: int, concurrency: int) -> None:
    if max_objects < 1:
        raise TargetError(f"aws.parity_max_objects is {max_objects}: give at least 1 (default 10000).")
    if concurrency < 1:
        raise TargetError(f"aws.parity_concurrency is {concurrency}: give at least 1 (default 16).")


def served_path(key: str, origin_path: str) -> str:
    """The viewer path of a bucket key: the S3 origin's OriginPath is the part of the key viewers do not see."""
    base = origin_path.strip("/")
    if base and key.startswith(base + "/"):
        key = key[len(base) + 1:]
    return "/" + quote(key, safe="/~!$&'()*+,;=:@")


class _EdgeHeads:
    """HEADs objects at the edge over one shared client whose pool keeps `workers` connections alive; stops sending
    once the first answers are all missing (the edge is unreachable: one finding, not thousands)."""

    def __init__(self, target: Target, origin_path: str, workers: int, expected: int) -> None:
        self.client = EdgeClient(target)
        self.origin_path, self.probe = origin_path, max(1, min(PROBE, expected))
        self.lock = threading.Lock()
        self.answers = self.missing = 0
        self.unreachable = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="edgeverify-parity")

    def submit(self, obj: BucketObject) -> Future[ParityRow | None]:
        return self.pool.submit(self.head, obj)

    def head(self, obj: BucketObject) -> ParityRow | None:
        if self.unreachable.is_set():
            return None
        path, identity = served_path(obj.key, self.origin_path), {"Accept-Encoding": "identity"}
        ex = self.client.head(path, headers=identity)  # uncompressed: length and ETag are the object's
        if ex.status == 200 and not ex.header("etag"):
            ex = self.client.get(path, headers=identity, keep_body=True)  # no ETag: compare the content's hash
        with self.lock:
            self.answers += 1
            self.missing += ex.status is None
            if self.answers >= self.probe and self.missing == self.answers:
                self.unreachable.set()
        row = ParityRow(obj, ex)
        if ex.method == "HEAD" and parity_problem(row) is None:
            # An agreeing answer keeps only what it was judged on: memory grows with the differences, not the bucket.
            row = ParityRow(obj, Exchange(ex.method, ex.url, status=ex.status, reason=ex.reason,
                                          headers=[(k, v) for k, v in ex.headers
                                                   if k.lower() in ("etag", "content-length")]))
        return row

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()


def _listing(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, BucketObject]]:
    """(LastModified, object) for every object under the prefix, page by page as S3 returns them."""
    with aws_errors(f"listing s3://{bucket}/{prefix}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents") or []:
                if not o["Key"].endswith("/"):
                    yield str(o.get("LastModified")), BucketObject(o["Key"], int(o["Size"]),
                                                                   normalize_etag(o.get("ETag")))


def bucket_parity(s3: Any, bucket: str, prefix: str, target: Target, origin_path: str = "",
                  max_objects: int = 10_000, concurrency: int = 16) -> ParityRun:
    """Compare every object under the prefix with the edge's answer, up to `max_objects`.

    The edge is asked while the listing is still arriving (S3 pages of 1,000), `concurrency` requests in flight.
    Above the limit the sample is the first half of the limit in key order plus the newest objects of the rest
    (where a partial sync or a stale edge shows first). Answers already asked for objects outside the sample,
    before the bucket proved larger than the limit, are dropped: they are at most half the limit, and what is
    reported is exactly the sample. Memory stays bounded by the limit whatever the bucket holds: only the newest
    `max_objects` listed objects are kept.
    """
    _validate_limits(max_objects, concurrency)
    heads = _EdgeHeads(target, origin_path, _workers(target, concurrency), max_objects)
    futures: dict[str, Future[ParityRow | None]] = {}
    newest: list[tuple[str, int, BucketObject]] = []  # min-heap of the newest max_objects (LastModified, order)
    total = 0
    try:
        for modified, obj in _listing(s3, bucket, prefix):
            total += 1
            (heapq.heappush if len(newest) < max_objects else heapq.heappushpop)(newest, (modified, total, obj))
            if len(futures) < max_objects:
                futures[obj.key] = heads.submit(obj)
        if total > max_objects:
            for key in list(futures)[max_objects // 2:]:
                futures.pop(key).cancel()
            for _, _, obj in sorted(newest, reverse=True):
                if len(futures) >= max_objects:
                    break
                if obj.key not in futures:
                    futures[obj.key] = heads.submit(obj)
        rows = [row for future in futures.values() if (row := future.result()) is not None]
    finally:
        heads.close()
    return ParityRun(rows, total, len(futures))


def fetch_from_edge(target: Target, objects: list[BucketObject], origin_path: str = "",
                    concurrency: int = 16) -> list[ParityRow]:
    """The edge's answer for each of `objects` (those not sent after the edge proved unreachable are left out)."""
    _validate_limits(1, concurrency)
    heads = _EdgeHeads(target, origin_path, min(_workers(target, concurrency), max(1, len(objects))), len(objects))
    try:
        return [row for row in heads.pool.map(heads.head, objects) if row is not None]
    finally:
        heads.close()
