"""config: the origins behind the distribution are not public (what the configuration says; security.origin_direct
asks the origins themselves).

config.s3_oac already flags a website-endpoint origin and an S3 origin without OAC. What it cannot see is the
bucket's own side: a bucket policy or ACL that lets anyone read (Block Public Access, which would neutralise
them, off), or an OAC statement without aws:SourceArn, which lets any CloudFront distribution of any account
serve the bucket; and for the API, an execute-api origin that CloudFront reaches without a secret header, so the
API cannot tell CloudFront's requests from anyone's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import Violation, rule
from .config import api_behaviors, origin_of, reproduce

BUCKET_PRIVATE = rule(
    "config.bucket_private",
    "The bucket behind the distribution is readable only by CloudFront for this distribution (no public policy or "
    "ACL; the OAC statement limited by aws:SourceArn)",
    "A bucket policy allowing Principal * (Block Public Access off), a public-read ACL, or an OAC statement for "
    "cloudfront.amazonaws.com without an aws:SourceArn condition (any distribution of any account may then read "
    "it) makes the files reachable around the distribution. Keep Block Public Access on and let the policy allow "
    "s3:GetObject only to cloudfront.amazonaws.com with Condition StringEquals AWS:SourceArn = the distribution's ARN.",
    "CloudFront Developer Guide 'Restricting access to an Amazon S3 origin' (OAC bucket policy); S3 User Guide "
    "'Blocking public access to your Amazon S3 storage' ('The meaning of public')",
)
API_ORIGIN_SECRET = rule(
    "config.api_origin_secret",
    "An execute-api origin gets a secret custom header from CloudFront (OriginCustomHeaders), so the API can refuse "
    "whoever calls its execute-api URL directly",
    "CloudFront reaches the API at its public execute-api host; without a header only CloudFront sends, the API "
    "cannot tell CloudFront's requests from anyone's, and WAF, geo restriction and the edge's logs are bypassed. "
    "Add an origin custom header with a secret value and refuse requests without it (Lambda authorizer, the "
    "function, or an AWS WAF rule on the stage), or put the API behind a custom domain and set "
    "DisableExecuteApiEndpoint.",
    "CloudFront Developer Guide 'Adding custom headers to origin requests'; API Gateway 'Disable the default endpoint "
    "for REST APIs'",
    severity="advisory",
)

READS = ("s3:getobject", "s3:get*", "s3:*", "*")
_SPOOFABLE = {"aws:referer", "aws:useragent"}  # conditions anyone can satisfy: the statement stays public
_PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                  "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
BPA_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass(slots=True)
class BucketAccess:
    """What S3 says of a bucket's access: its policy (JSON text, None: none), ACL grants and Block Public Access
    configuration (None: none set on the bucket), and the account's Block Public Access (s3control; None: none
    set, or not readable: account_unread then says why)."""

    bucket: str
    policy: str | None = None
    grants: list[dict[str, Any]] = field(default_factory=list)
    block: dict[str, bool] | None = None
    account_block: dict[str, bool] | None = None
    account_unread: str | None = None

    def effective_block(self) -> dict[str, bool]:
        """S3 applies the most restrictive of the bucket's and the account's settings, key by key."""
        bucket, account = self.block or {}, self.account_block or {}
        return {k: bool(bucket.get(k) or account.get(k)) for k in BPA_KEYS}

    def where_off(self) -> str:
        """Where Block Public Access was looked for, for 'is off ...'."""
        if self.account_unread:
            return "on the bucket (the account's own setting could not be read: " + self.account_unread + ")"
        return "on the bucket and on the account"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _condition_keys(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """Condition key (lower case) -> its values, whatever the operator."""
    keys: dict[str, list[str]] = {}
    for block in (statement.get("Condition") or {}).values():
        if isinstance(block, Mapping):
            for key, value in block.items():
                keys.setdefault(str(key).lower(), []).extend(str(v) for v in _list(value))
    return keys


def policy_problems(access: BucketAccess, distribution_id: str) -> list[str]:
    """What in the bucket's policy and ACL lets others than this distribution read it."""
    block = access.effective_block()
    problems = []
    try:
        doc = json.loads(access.policy) if access.policy else {}
    except ValueError:
        doc = {}
    for i, st in enumerate(_list(doc.get("Statement"))):
        if not isinstance(st, Mapping) or st.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in _list(st.get("Action"))]
        if not any(a in READS for a in actions):
            continue
        name = f"statement {st.get('Sid') or i}"
        principal = st.get("Principal")
        aws_principals = _list(principal.get("AWS")) if isinstance(principal, Mapping) else []
        services = [str(s).lower() for s in _list(principal.get("Service"))] if isinstance(principal, Mapping) else []
        conditions = _condition_keys(st)
        if principal == "*" or "*" in aws_principals:
            if conditions and not set(conditions) <= _SPOOFABLE:
                continue
            if block.get("RestrictPublicBuckets"):
                continue  # Block Public Access restricts a public policy to the account's own principals
            problems.append(f"{name} allows Principal * to {', '.join(_list(st.get('Action')))}"
                            + (f" (only a {', '.join(sorted(conditions))} condition, which anyone can send)"
                               if conditions else "") + f" and Block Public Access (RestrictPublicBuckets) is off {access.where_off()}")
        elif "cloudfront.amazonaws.com" in services:
            sources = conditions.get("aws:sourcearn", [])
            if not sources:
                problems.append(f"{name} allows cloudfront.amazonaws.com without an aws:SourceArn condition: any "
                                f"distribution, of any account, can serve the bucket")
            elif not any(s.endswith(f"/{distribution_id}") or s.endswith("/*") for s in sources):
                continue  # another distribution's statement: not this one's access, not public either
            elif any(s.endswith("/*") for s in sources):
                problems.append(f"{name} allows cloudfront.amazonaws.com for aws:SourceArn {', '.join(sources)}: every "
                                "distribution of that account, not only this one")
    if not block.get("IgnorePublicAcls"):
        for grant in access.grants:
            uri = str((grant.get("Grantee") or {}).get("URI") or "")
            if uri in _PUBLIC_GROUPS and grant.get("Permission") in ("READ", "FULL_CONTROL"):
                problems.append(f"the ACL grants {grant['Permission']} to {uri.rsplit('/', 1)[-1]} and Block Public "
                                f"Access (IgnorePublicAcls) is off {access.where_off()}")
    return problems


def check_bucket_private(access: BucketAccess, distribution_id: str) -> None:
    problems = policy_problems(access, distribution_id)
    if not problems:
        return
    off = [k for k, on in access.effective_block().items() if not on]
    raise Violation(BUCKET_PRIVATE, "a bucket policy allowing s3:GetObject only to cloudfront.amazonaws.com with "
                    f"AWS:SourceArn arn:aws:cloudfront::<account>:distribution/{distribution_id}, no public ACL",
                    f"bucket {access.bucket}: " + "; ".join(problems),
                    cause="the bucket was made public for a website endpoint or an older setup (or the OAC policy was "
                          "copied without its condition): turn Block Public Access on (" + (", ".join(off) or "all four")
                          + f" off now: aws s3api put-public-access-block --bucket {access.bucket} "
                          "--public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,"
                          "BlockPublicPolicy=true,RestrictPublicBuckets=true, or for every bucket of the account: "
                          "aws s3control put-public-access-block --account-id <account> with the same four) and give "
                          "the OAC statement Condition StringEquals AWS:SourceArn with the distribution's ARN",
                    reproduce=f"aws s3api get-bucket-policy --bucket {access.bucket} --query Policy --output text; "
                              f"aws s3api get-public-access-block --bucket {access.bucket}; aws s3control "
                              "get-public-access-block --account-id $(aws sts get-caller-identity --query Account "
                              "--output text)")


def check_api_origin_secret(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = []
    seen: set[str] = set()
    for _, behavior in api_behaviors(config):
        origin = origin_of(config, behavior)
        if origin.get("Id") in seen:
            continue
        seen.add(str(origin.get("Id")))
        headers: Sequence[Any] = (origin.get("CustomHeaders") or {}).get("Items") or []
        if not headers:
            problems.append(f"origin '{origin.get('Id')}' ({origin.get('DomainName')}) has no OriginCustomHeaders")
    if problems:
        raise Violation(API_ORIGIN_SECRET, "an origin custom header (e.g. X-Origin-Verify with a secret value) on each "
                        "execute-api origin, which the API requires", "; ".join(problems),
                        cause="CloudFront sends nothing only it knows, so the execute-api URL answers anyone as it "
                              "answers CloudFront: add Origins[].CustomHeaders (HeaderName X-Origin-Verify, a secret "
                              "HeaderValue) and refuse requests without it in the API",
                        reproduce=reproduce(distribution_id, "Origins.Items[].[Id, DomainName, CustomHeaders.Quantity]"))
