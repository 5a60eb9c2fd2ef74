"""config.bucket_private and config.api_origin_secret: the origins behind the distribution are not public.

Pure rule tests on the policies teams deploy (the OAC statement as CloudFront's guide and the console give it,
e.g. gist ShivamJoker/0a308efafa8b2129c374ee311d16b480; the website-hosting policy from S3's 'Setting permissions
for website access'), then the config suite on moto's S3 and CloudFront."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import pytest

from edgeverify.aws.access import bucket_access
from edgeverify.rules import Violation
from edgeverify.rules.origin_config import BucketAccess, check_api_origin_secret, check_bucket_private
from moto_configs import create, good_config
from test_config_suite import run_suite

DIST = "E2ABCDEFGHIJKL"
OAC = {"Sid": "AllowCloudFrontServicePrincipal", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site-bucket/*",
       "Condition": {"StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::123456789012:distribution/{DIST}"}}}
WEBSITE = {"Sid": "PublicReadGetObject", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
           "Resource": ["arn:aws:s3:::site-bucket/*"]}
BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
ALL_USERS = {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}


OPEN = dict.fromkeys(BLOCKED, False)  # what a team sets on the bucket to serve it as a website (AWS's default: all on)


def access(*statements, grants=(), block=None, account=None, unread=None):
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)}) if statements else None
    return BucketAccess("site-bucket", policy, list(grants), block, account, unread)


def fails(found: BucketAccess) -> str:
    with pytest.raises(Violation) as info:
        check_bucket_private(found, DIST)
    text = info.value.render()
    assert "Likely cause:" in text and "Reproduce: aws s3api get-bucket-policy --bucket site-bucket" in text
    return text


@pytest.mark.parametrize("found", [
    access(OAC, block=BLOCKED), access(OAC), access(), access(WEBSITE, block=BLOCKED),  # BPA neutralises the public policy
    access(OAC, grants=[ALL_USERS], block=BLOCKED),
    access(WEBSITE, block=OPEN, account=BLOCKED), access(OAC, grants=[ALL_USERS], block=OPEN, account=BLOCKED),
    access({**WEBSITE, "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}),  # a real restriction
    access({**OAC, "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E9"}}}),
])
def test_private_buckets_pass(found):
    check_bucket_private(found, DIST)


def test_a_public_website_policy_fails_naming_block_public_access():
    text = fails(access(WEBSITE, OAC))
    assert "statement PublicReadGetObject allows Principal * to s3:GetObject" in text
    assert "RestrictPublicBuckets" in text and "put-public-access-block --bucket site-bucket" in text


def test_the_accounts_block_public_access_counts_key_by_key():
    """S3 applies the stricter of the bucket's and the account's settings: the account's RestrictPublicBuckets
    neutralises a public policy, but not a public ACL when IgnorePublicAcls is off on both."""
    text = fails(access(WEBSITE, grants=[ALL_USERS], block=OPEN, account={**OPEN, "RestrictPublicBuckets": True}))
    assert "PublicReadGetObject" not in text
    assert "the ACL grants READ to AllUsers and Block Public Access (IgnorePublicAcls) is off on the bucket and on " \
           "the account" in text
    assert "BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy off now" in text
    assert "aws s3control put-public-access-block --account-id" in text and "aws s3control get-public-access-block" \
           in text


def test_an_unreadable_account_setting_is_said_not_guessed():
    text = fails(access(WEBSITE, block=OPEN, unread="AccessDenied (s3:GetAccountPublicAccessBlock)"))
    assert "is off on the bucket (the account's own setting could not be read: AccessDenied (s3:GetAccountPublic" in text


def test_a_referer_condition_is_still_public():
    text = fails(access({**WEBSITE, "Condition": {"StringLike": {"aws:Referer": "https://www.example.test/*"}}}))
    assert "only a aws:referer condition, which anyone can send" in text


def test_an_oac_statement_without_source_arn_lets_any_distribution_read():
    text = fails(access({k: v for k, v in OAC.items() if k != "Condition"}, block=BLOCKED))
    assert "without an aws:SourceArn condition: any distribution, of any account, can serve the bucket" in text
    wildcard = {**OAC, "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/*"}}}
    assert "every distribution of that account" in fails(access(wildcard, block=BLOCKED))


def test_a_public_read_acl_fails():
    assert "the ACL grants READ to AllUsers" in fails(access(OAC, grants=[ALL_USERS]))


def test_an_execute_api_origin_without_a_secret_header_is_advisory():
    config = good_config()
    config["Origins"]["Items"][1].pop("CustomHeaders")
    with pytest.raises(Violation) as info:
        check_api_origin_secret(config, DIST)
    assert info.value.advisory and "origin 'api' (lab0api.execute-api.us-east-1.amazonaws.com) has no " \
                                   "OriginCustomHeaders" in info.value.render()
    config["Origins"]["Items"][1]["CustomHeaders"] = {"Quantity": 1, "Items": [
        {"HeaderName": "X-Origin-Verify", "HeaderValue": "s3cr3t"}]}
    check_api_origin_secret(config, DIST)


def test_bucket_access_is_read_from_s3(s3, aws):
    s3.create_bucket(Bucket="access-bucket")
    assert bucket_access(aws, "access-bucket") == BucketAccess("access-bucket", None, bucket_access(
        aws, "access-bucket").grants, None)  # nothing set: no policy, no Block Public Access configuration
    s3.put_bucket_policy(Bucket="access-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {**WEBSITE, "Resource": "arn:aws:s3:::access-bucket/*"}]}))
    s3.put_public_access_block(Bucket="access-bucket", PublicAccessBlockConfiguration={**BLOCKED,
                                                                                      "RestrictPublicBuckets": False})
    found = bucket_access(aws, "access-bucket")
    assert found.block == {**BLOCKED, "RestrictPublicBuckets": False} and "PublicReadGetObject" in (found.policy or "")


def public_website(cf, s3, bucket: str, moto_endpoint: str, *, block=None) -> tuple[str, str]:
    """A distribution whose bucket origin has the website policy (Principal *): (distribution id, aws: lines)."""
    config = good_config()
    config["Origins"]["Items"][0]["DomainName"] = f"{bucket}.s3.us-east-1.amazonaws.com"
    s3.create_bucket(Bucket=bucket)
    if block is not None:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {**WEBSITE, "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    distribution_id = create(cf, config)
    return distribution_id, f"  distribution_id: {distribution_id}\n  endpoint_url: {moto_endpoint}\n"


@contextmanager
def account_block(aws, block):
    """The account's Block Public Access set for the block only: the moto server is shared by this worker's tests."""
    from edgeverify.aws.session import client

    control = client("s3control", aws)
    account = client("sts", aws).get_caller_identity()["Account"]
    control.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=block)
    try:
        yield
    finally:
        control.delete_public_access_block(AccountId=account)


def test_config_suite_fails_on_a_public_bucket_and_passes_on_a_private_one(tmp_path, cf, s3, moto_endpoint):
    distribution_id, aws_lines = public_website(cf, s3, "public-bucket", moto_endpoint)
    result = run_suite(tmp_path, aws_lines, dict(os.environ), "", "-k", "bucket_private or api_origin_secret")
    assert "FAILED [config.bucket_private]" in result.stdout, result.stdout
    assert "bucket public-bucket: statement PublicReadGetObject allows Principal * to s3:GetObject" in result.stdout
    assert "1 failed, 1 passed" in result.stdout, result.stdout  # the API origin has its secret header
    s3.put_bucket_policy(Bucket="public-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {**OAC, "Resource": "arn:aws:s3:::public-bucket/*", "Condition": {"StringEquals": {
            "AWS:SourceArn": f"arn:aws:cloudfront::123456789012:distribution/{distribution_id}"}}}]}))
    result = run_suite(tmp_path, aws_lines, dict(os.environ), "", "-k", "bucket_private or api_origin_secret")
    assert "2 passed" in result.stdout and "failed" not in result.stdout, result.stdout


def test_the_accounts_block_public_access_is_read_from_s3control(s3, aws, monkeypatch):
    from edgeverify.aws import access as access_module
    from edgeverify.errors import AwsError

    s3.create_bucket(Bucket="account-bucket")
    assert bucket_access(aws, "account-bucket").account_block is None  # nothing set on the account: AWS's default
    with account_block(aws, {**BLOCKED, "BlockPublicAcls": False}):
        assert bucket_access(aws, "account-bucket").account_block == {**BLOCKED, "BlockPublicAcls": False}

    def denied(_aws):
        raise AwsError("reading the account's Block Public Access: AccessDenied: User is not authorized to perform "
                       "s3:GetAccountPublicAccessBlock")

    monkeypatch.setattr(access_module, "_account_block", denied)
    found = bucket_access(aws, "account-bucket")
    assert found.account_block is None and found.account_unread.startswith("AccessDenied: User is not authorized")


def test_config_suite_passes_a_public_policy_the_accounts_block_public_access_neutralises(tmp_path, cf, s3, aws,
                                                                                          moto_endpoint):
    # as AWS requires before a public policy: the bucket's own Block Public Access turned off
    _, aws_lines = public_website(cf, s3, "website-bucket", moto_endpoint, block=OPEN)
    result = run_suite(tmp_path, aws_lines, dict(os.environ), "", "-k", "bucket_private")
    assert "FAILED [config.bucket_private]" in result.stdout, result.stdout
    assert "(RestrictPublicBuckets) is off on the bucket and on the account" in result.stdout, result.stdout
    with account_block(aws, BLOCKED):
        result = run_suite(tmp_path, aws_lines, dict(os.environ), "", "-k", "bucket_private")
    assert "1 passed" in result.stdout and "failed" not in result.stdout, result.stdout
