"""config: the distribution's own configuration (read with boto3), and the bucket served byte for byte at the edge.

Skipped, with the reason shown, when the target names no distribution or no AWS credentials are found.
"""

import pytest

from edgeverify.aws import resources, session
from edgeverify.errors import AwsError
from edgeverify.rules import config

NO_CREDENTIALS = f"config audit needs AWS credentials ({session.CREDENTIALS_HINT}); none found"


@pytest.fixture(scope="session")
def aws(target):
    """The target's aws section, once it is known the audit can run (checked here, never at collection)."""
    if not (target.aws.distribution_id or target.aws.stack):
        pytest.skip("no aws.distribution_id or aws.stack in the target")
    if not session.has_credentials(target.aws):
        pytest.skip(NO_CREDENTIALS)
    return target.aws


@pytest.fixture(scope="session")
def cloudfront(aws):
    return session.client("cloudfront", aws)


@pytest.fixture(scope="session")
def distribution(aws, cloudfront) -> resources.Distribution:
    distribution_id, _ = resources.resolve_distribution(aws, cloudfront)
    return resources.get_distribution(cloudfront, distribution_id)


@pytest.fixture(scope="session")
def cache_policies(cloudfront, distribution):
    """Custom cache policies' configs by id (managed ones are known by id); unreadable ones are left out."""
    found = {}
    for _, behavior in config.behaviors(distribution.config):
        policy_id = behavior.get("CachePolicyId")
        if policy_id and policy_id not in config.MANAGED_POLICIES and policy_id not in found:
            try:
                with session.aws_errors(f"reading cache policy {policy_id}"):
                    found[policy_id] = cloudfront.get_cache_policy(Id=policy_id)["CachePolicy"]["CachePolicyConfig"]
            except AwsError:
                pass  # the rule then names the policy as not verifiable
    return found


@pytest.fixture(scope="session")
def api_behaviors(distribution):
    if not config.api_behaviors(distribution.config):
        pytest.skip(f"distribution {distribution.id} has no behavior with an execute-api origin")


@pytest.fixture(scope="session")
def bucket_sample(target, distribution):
    """(bucket, origin path, objects to compare, objects listed): listed once per worker."""
    origin = resources.static_origin(distribution.config)
    bucket = target.aws.bucket or (origin[0] if origin else None)
    if not bucket:
        pytest.skip(f"no aws.bucket in the target and no S3 origin in distribution {distribution.id}")
    origin_path = origin[1] if origin and origin[0] == bucket else ""
    s3 = session.client("s3", target.aws)
    objects, total = resources.list_bucket(s3, bucket, target.aws.bucket_prefix, target.aws.parity_sample)
    if not objects:
        pytest.skip(f"s3://{bucket}/{target.aws.bucket_prefix} holds no objects")
    return bucket, origin_path, objects, total


@pytest.mark.rule("config.viewer_protocol")
def test_every_behavior_is_https_only(distribution):
    config.check_viewer_protocol(distribution.config, distribution.id)


@pytest.mark.rule("config.compress")
def test_every_behavior_compresses(distribution):
    config.check_compress(distribution.config, distribution.id)


@pytest.mark.rule("config.api_methods")
def test_api_behavior_allows_the_methods_the_api_uses(distribution, target, api_behaviors):
    config.check_api_methods(distribution.config, distribution.id, [(c.method, c.path) for c in target.api.calls])


@pytest.mark.rule("config.api_cache_disabled")
def test_api_behavior_does_not_cache(distribution, cache_policies, api_behaviors):
    config.check_api_cache_disabled(distribution.config, distribution.id, cache_policies)


@pytest.mark.rule("config.api_origin_request_policy")
def test_api_behavior_forwards_all_but_host(distribution, api_behaviors):
    config.check_api_origin_request_policy(distribution.config, distribution.id)


@pytest.mark.rule("config.static_cache_policy")
def test_static_behaviors_cache(distribution, cache_policies):
    config.check_static_cache_policy(distribution.config, distribution.id, cache_policies)


@pytest.mark.rule("config.s3_oac")
def test_s3_origin_uses_oac(distribution):
    config.check_s3_oac(distribution.config, distribution.id)


@pytest.mark.rule("config.tls_policy")
def test_security_policy_is_modern(distribution):
    config.check_tls_policy(distribution.config, distribution.id)


@pytest.mark.rule("config.aliases")
def test_aliases_include_the_domain(distribution, target):
    config.check_aliases(distribution.config, distribution.id, target.domain, distribution.domain_name)


@pytest.mark.rule("config.error_responses_swallow_api")
def test_error_responses_do_not_swallow_api_errors(distribution, api_behaviors):
    config.check_error_responses(distribution.config, distribution.id)


@pytest.mark.rule("config.bucket_parity")
def test_edge_serves_the_bucket(bucket_sample, edge):
    bucket, origin_path, objects, _ = bucket_sample
    rows = resources.fetch_from_edge(edge, objects, origin_path)
    edge.exchanges.extend(r.exchange for r in rows if config.parity_problem(r))  # the report shows what differs
    config.check_bucket_parity(rows, bucket)
