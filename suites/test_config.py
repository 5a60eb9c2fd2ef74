"""config: the distribution's own configuration (read with boto3), and the bucket served byte for byte at the edge.

Skipped, with the reason shown, when the target names no distribution or no AWS credentials are found.
"""

import importlib

import pytest

from edgeverify.errors import AwsError
from edgeverify.rules import config


class _Imported:
    """A module imported when first used: boto3 costs every run a third of a second, and most targets name no AWS."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


resources = _Imported("edgeverify.aws.resources")
session = _Imported("edgeverify.aws.session")


@pytest.fixture(scope="session")
def aws(target):
    """The target's aws section, once it is known the audit can run (checked here, never at collection)."""
    if not (target.aws.distribution_id or target.aws.stack):
        pytest.skip("no aws.distribution_id or aws.stack in the target")
    if not session.has_credentials(target.aws):
        pytest.skip(f"config audit needs AWS credentials ({session.CREDENTIALS_HINT}); none found")
    return target.aws


@pytest.fixture(scope="session")
def cloudfront(aws):
    return session.client("cloudfront", aws)


@pytest.fixture(scope="session")
def distribution(aws, cloudfront):
    distribution_id, _ = resources.resolve_distribution(aws, cloudfront)
    return resources.get_distribution(cloudfront, distribution_id)


@pytest.fixture(scope="session")
def cache_policies(cloudfront, distribution):
    """Custom cache policies' configs by id; unreadable ones are left out (the rules name them)."""
    return resources.cache_policies(cloudfront, distribution.config)


@pytest.fixture(scope="session")
def api_behaviors(distribution):
    if not config.api_behaviors(distribution.config):
        pytest.skip(f"distribution {distribution.id} has no behavior with an execute-api origin")


@pytest.fixture(scope="session")
def certificate_names(aws, distribution):
    """The ACM certificate's names (domain and SANs), or None when it is not an ACM certificate or unreadable."""
    arn = (distribution.config.get("ViewerCertificate") or {}).get("ACMCertificateArn") or ""
    if not arn:
        return None
    try:
        return resources.certificate_names(aws, arn)
    except AwsError:
        return None


@pytest.fixture(scope="session")
def bucket_origin(target, distribution):
    """(bucket, origin path) whose objects the edge must serve."""
    origin = resources.static_origin(distribution.config)
    bucket = target.aws.bucket or (origin[0] if origin else None)
    if not bucket:
        pytest.skip(f"no aws.bucket in the target and no S3 origin in distribution {distribution.id}")
    return bucket, origin[1] if origin and origin[0] == bucket else ""


def calls(target):
    return [(c.method, c.path) for c in target.api.calls]


@pytest.mark.rule("config.shadowed_behaviors")
def test_shadowed_behaviors_none(distribution):
    config.check_shadowed_behaviors(distribution.config, distribution.id)


@pytest.mark.rule("config.viewer_protocol")
def test_viewer_protocol_https_only_on_every_behavior(distribution):
    config.check_viewer_protocol(distribution.config, distribution.id)


@pytest.mark.rule("config.compress")
def test_compress_on_every_behavior(distribution):
    config.check_compress(distribution.config, distribution.id)


@pytest.mark.rule("config.api_methods")
def test_api_methods_allow_what_the_api_uses(distribution, target, api_behaviors):
    config.check_api_methods(distribution.config, distribution.id, calls(target))


@pytest.mark.rule("config.api_cache_disabled")
def test_api_cache_disabled(distribution, cache_policies, api_behaviors):
    config.check_api_cache_disabled(distribution.config, distribution.id, cache_policies)


@pytest.mark.rule("config.api_origin_request_policy")
def test_api_origin_request_policy_forwards_all_but_host(distribution, api_behaviors):
    config.check_api_origin_request_policy(distribution.config, distribution.id)


@pytest.mark.rule("config.api_forwarding")
def test_api_forwarding_of_cookies_and_authorization(distribution, cache_policies, api_behaviors):
    config.check_api_forwarding(distribution.config, distribution.id, cache_policies)


@pytest.mark.rule("config.static_cache_policy")
def test_static_cache_policy_caches(distribution, cache_policies):
    config.check_static_cache_policy(distribution.config, distribution.id, cache_policies)


@pytest.mark.rule("config.s3_oac")
def test_s3_oac_on_the_bucket_origin(distribution):
    config.check_s3_oac(distribution.config, distribution.id)


@pytest.mark.rule("config.tls_policy")
def test_tls_policy_is_modern(distribution):
    config.check_tls_policy(distribution.config, distribution.id)


@pytest.mark.rule("config.aliases")
def test_aliases_include_the_domain(distribution, target):
    config.check_aliases(distribution.config, distribution.id, target.domain, distribution.domain_name)


@pytest.mark.rule("config.alias_certificate")
def test_alias_certificate_names_every_alias(distribution, certificate_names, request):
    if certificate_names is None and not config.uses_default_certificate(distribution.config):
        request.node.user_properties.append(("certificate", "names not readable (acm:DescribeCertificate)"))
    config.check_alias_certificate(distribution.config, distribution.id, certificate_names)


@pytest.mark.rule("config.error_responses_swallow_api")
def test_error_responses_swallow_api_errors_never(distribution, target):
    config.check_error_responses(distribution.config, distribution.id, calls(target))


@pytest.mark.rule("config.bucket_parity")
def test_bucket_parity_edge_serves_every_object(bucket_origin, target, request):
    """Its own client over the target (not the per-check evidence): thousands of answers, judged here."""
    bucket, origin_path = bucket_origin
    aws = target.aws
    run = resources.bucket_parity(session.client("s3", aws), bucket, aws.bucket_prefix, target, origin_path,
                                  aws.parity_max_objects, aws.parity_concurrency)
    if not run.total:
        pytest.skip(f"s3://{bucket}/{aws.bucket_prefix} holds no objects")
    request.node.user_properties.append(("checked", f"{len(run.rows)} of {run.total}"))
    config.check_bucket_parity(run.rows, bucket, run.total, run.planned)
    print(f"config.bucket_parity: {config.parity_scope(len(run.rows), run.total)} of s3://{bucket}, "
          "all served identically")
