"""config: the distribution's own configuration (read with boto3), and the bucket served byte for byte at the edge.

Skipped, with the reason shown, when the target names no distribution or no AWS credentials are found. The
distribution is read once per run (aws.context.AwsContext), whatever the number of checks that judge it;
a configuration is judged once, not retried (it does not change under the run's feet as an edge's answers do).
"""

import pytest

from edgeverify.aws.context import AwsContext
from edgeverify.errors import NotApplicable
from edgeverify.rules import config, origin_config

pytestmark = [pytest.mark.release_independent, pytest.mark.judged_once]


def aws_of(edge, target):
    """The target's AWS side, shared by the run's config checks."""
    return edge.run.once("aws", lambda: AwsContext(target))


def calls(target):
    return [(c.method, c.path) for c in target.api.calls]


@pytest.mark.rule("config.shadowed_behaviors")
def test_shadowed_behaviors_none(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_shadowed_behaviors(d.config, d.id)


@pytest.mark.rule("config.response_headers_policy")
def test_response_headers_policy_on_every_behavior(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_response_headers_policy(d.config, d.id)


@pytest.mark.rule("config.error_caching_ttl")
def test_error_caching_ttl_short(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_error_caching_ttl(d.config, d.id)


@pytest.mark.rule("config.viewer_protocol")
def test_viewer_protocol_https_only_on_every_behavior(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_viewer_protocol(d.config, d.id)


@pytest.mark.rule("config.compress")
def test_compress_on_every_behavior(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_compress(d.config, d.id)


@pytest.mark.rule("config.api_methods")
def test_api_methods_allow_what_the_api_uses(edge, target):
    aws = aws_of(edge, target)
    aws.api_behaviors()
    config.check_api_methods(aws.distribution().config, aws.distribution().id, calls(target))


@pytest.mark.rule("config.api_cache_disabled")
def test_api_cache_disabled(edge, target):
    aws = aws_of(edge, target)
    aws.api_behaviors()
    config.check_api_cache_disabled(aws.distribution().config, aws.distribution().id, aws.cache_policies())


@pytest.mark.rule("config.api_origin_request_policy")
def test_api_origin_request_policy_forwards_all_but_host(edge, target):
    aws = aws_of(edge, target)
    aws.api_behaviors()
    config.check_api_origin_request_policy(aws.distribution().config, aws.distribution().id)


@pytest.mark.rule("config.api_forwarding")
def test_api_forwarding_of_cookies_and_authorization(edge, target):
    aws = aws_of(edge, target)
    aws.api_behaviors()
    config.check_api_forwarding(aws.distribution().config, aws.distribution().id, aws.cache_policies())


@pytest.mark.rule("config.static_cache_policy")
def test_static_cache_policy_caches(edge, target):
    aws = aws_of(edge, target)
    config.check_static_cache_policy(aws.distribution().config, aws.distribution().id, aws.cache_policies())


@pytest.mark.rule("config.s3_oac")
def test_s3_oac_on_the_bucket_origin(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_s3_oac(d.config, d.id)


@pytest.mark.rule("config.bucket_private")
def test_bucket_private_to_this_distribution(edge, target):
    aws = aws_of(edge, target)
    bucket, _ = aws.bucket_origin()
    from edgeverify.aws.access import bucket_access

    origin_config.check_bucket_private(bucket_access(aws.aws(), bucket), aws.distribution().id)


@pytest.mark.rule("config.api_origin_secret")
def test_api_origin_secret_header(edge, target):
    aws = aws_of(edge, target)
    aws.api_behaviors()
    origin_config.check_api_origin_secret(aws.distribution().config, aws.distribution().id)


@pytest.mark.rule("config.tls_policy")
def test_tls_policy_is_modern(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_tls_policy(d.config, d.id)


@pytest.mark.rule("config.aliases")
def test_aliases_include_the_domain(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_aliases(d.config, d.id, target.domain, d.domain_name)


@pytest.mark.rule("config.alias_certificate")
def test_alias_certificate_names_every_alias(edge, target):
    aws = aws_of(edge, target)
    d, names = aws.distribution(), aws.certificate_names()
    if names is None and not config.uses_default_certificate(d.config):
        edge.data["properties"] = [("certificate", "names not readable (acm:DescribeCertificate)")]
    config.check_alias_certificate(d.config, d.id, names)


@pytest.mark.rule("config.error_responses_swallow_api")
def test_error_responses_swallow_api_errors_never(edge, target):
    d = aws_of(edge, target).distribution()
    config.check_error_responses(d.config, d.id, calls(target))


@pytest.mark.rule("config.bucket_parity")
def test_bucket_parity_edge_serves_every_object(edge, target):
    """Its own client over the target (not the per-check evidence): thousands of answers, judged here."""
    aws_of(edge, target).aws()  # not applicable (no AWS named) before boto3 is imported
    from edgeverify.aws import resources, session

    bucket, origin_path = aws_of(edge, target).bucket_origin()
    aws = target.aws
    run = resources.bucket_parity(session.client("s3", aws), bucket, aws.bucket_prefix, target, origin_path,
                                  aws.parity_max_objects, aws.parity_concurrency)
    if not run.total:
        raise NotApplicable(f"s3://{bucket}/{aws.bucket_prefix} holds no objects")
    edge.data["properties"] = [("checked", f"{len(run.rows)} of {run.total}")]
    config.check_bucket_parity(run.rows, bucket, run.total, run.planned)
