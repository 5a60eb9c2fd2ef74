"""The bucket's own access settings (policy, ACL, Block Public Access), for config.bucket_private."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..rules.origin_config import BPA_KEYS, BucketAccess
from ..target import Aws
from .session import aws_errors, client

_NONE = {"NoSuchBucketPolicy", "NoSuchPublicAccessBlockConfiguration"}  # nothing set: not an error


def bucket_access(aws: Aws, bucket: str, s3: Any | None = None) -> BucketAccess:
    """What S3 says of the bucket's access; AwsError when it cannot be read (permissions, no such bucket)."""
    s3 = s3 or client("s3", aws)
    found = BucketAccess(bucket)
    found.policy = _unless_none(lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"], f"reading the policy of {bucket}")
    acl = _unless_none(lambda: s3.get_bucket_acl(Bucket=bucket), f"reading the ACL of {bucket}")
    found.grants = list((acl or {}).get("Grants") or [])
    block = _unless_none(lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
                         f"reading the Block Public Access configuration of {bucket}")
    found.block = None if block is None else {k: bool(block.get(k)) for k in BPA_KEYS}
    return found


def _unless_none(read: Any, action: str) -> Any:
    with aws_errors(action):
        try:
            return read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NONE:
                return None
            raise
