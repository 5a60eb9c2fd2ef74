"""The bucket's own access settings (policy, ACL, Block Public Access) and the account's Block Public Access, for
config.bucket_private."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..errors import AwsError
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
    try:  # the account's own setting overrides the bucket's where stricter; lacking the permission is not a verdict
        account = _unless_none(lambda: _account_block(aws), "reading the account's Block Public Access")
    except AwsError as exc:
        found.account_unread = str(exc).split(": ", 1)[-1][:300]
    else:
        found.account_block = None if account is None else {k: bool(account.get(k)) for k in BPA_KEYS}
    return found


def _account_block(aws: Aws) -> dict[str, Any]:
    account = client("sts", aws).get_caller_identity()["Account"]
    s3control = client("s3control", aws)
    return dict(s3control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"])


def _unless_none(read: Any, action: str) -> Any:
    with aws_errors(action):
        try:
            return read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NONE:
                return None
            raise
