"""Each config rule passes on the good distribution and fails, naming the behavior and the value, on its bad one.

The rules run on the DistributionConfig read back from the moto server, as the suite reads it from AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from edgeverify.rules import Violation
from edgeverify.rules import config as rules

from moto_configs import DOMAIN, api_behavior, create, fetched_config, good_config

CALLS = [("GET", "/api/health"), ("POST", "/api/submit")]


def run_all(config: dict[str, Any], distribution_id: str) -> None:
    rules.check_viewer_protocol(config, distribution_id)
    rules.check_compress(config, distribution_id)
    rules.check_api_methods(config, distribution_id, CALLS)
    rules.check_api_cache_disabled(config, distribution_id)
    rules.check_api_origin_request_policy(config, distribution_id)
    rules.check_static_cache_policy(config, distribution_id)
    rules.check_s3_oac(config, distribution_id)
    rules.check_tls_policy(config, distribution_id)
    rules.check_aliases(config, distribution_id, DOMAIN)
    rules.check_error_responses(config, distribution_id)


def test_good_distribution_passes_every_rule(cf):
    distribution_id = create(cf, good_config())
    run_all(fetched_config(cf, distribution_id), distribution_id)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(config: dict[str, Any]) -> None:
        target = api_behavior(config) if path.startswith("api.") else config["DefaultCacheBehavior"] \
            if path.startswith("default.") else config
        target[path.split(".", 1)[-1]] = value
    return mutate


def _website_origin(config: dict[str, Any]) -> None:
    config["Origins"]["Items"][0] = {
        "Id": "site", "DomainName": "site-bucket.s3-website-eu-west-1.amazonaws.com",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}


def _legacy_api_forwarding(config: dict[str, Any]) -> None:
    behavior = api_behavior(config)
    del behavior["OriginRequestPolicyId"], behavior["CachePolicyId"]
    behavior["ForwardedValues"] = {"QueryString": True, "Cookies": {"Forward": "all"},
                                   "Headers": {"Quantity": 1, "Items": ["*"]}}


BAD = [
    ("viewer_protocol", _set("api.ViewerProtocolPolicy", "allow-all"), rules.check_viewer_protocol,
     "behavior '/api/*' ViewerProtocolPolicy allow-all"),
    ("compress", _set("default.Compress", False), rules.check_compress, "behavior 'Default (*)' Compress false"),
    ("api_methods", _set("api.AllowedMethods", {"Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"]}),
     rules.check_api_methods, "POST /api/submit is routed to behavior '/api/*', whose AllowedMethods are GET, HEAD, OPTIONS"),
    ("api_methods_options", _set("api.AllowedMethods", {"Quantity": 2, "Items": ["GET", "HEAD"]}),
     rules.check_api_methods, "behavior '/api/*' AllowedMethods GET, HEAD: no OPTIONS"),
    ("api_cache_disabled", _set("api.CachePolicyId", rules.CACHING_OPTIMIZED), rules.check_api_cache_disabled,
     f"behavior '/api/*' cache policy CachingOptimized ({rules.CACHING_OPTIMIZED})"),
    ("api_origin_request_policy", _set("api.OriginRequestPolicyId", "216adef6-5c7f-47e4-b989-5492eafa07d3"),
     rules.check_api_origin_request_policy, "behavior '/api/*' origin request policy AllViewer"),
    ("api_legacy_forwarding", _legacy_api_forwarding, rules.check_api_origin_request_policy,
     "no origin request policy (legacy ForwardedValues forwarding the Host header)"),
    ("static_cache_policy", _set("default.CachePolicyId", rules.CACHING_DISABLED), rules.check_static_cache_policy,
     "behavior 'Default (*)' cache policy CachingDisabled"),
    ("s3_oac_website", _website_origin, rules.check_s3_oac,
     "origin 'site' is the public website endpoint site-bucket.s3-website-eu-west-1.amazonaws.com"),
    ("tls_policy", _set("ViewerCertificate", {"ACMCertificateArn": "arn:aws:acm:us-east-1:1:certificate/t",
                                              "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2019"}),
     rules.check_tls_policy, "MinimumProtocolVersion TLSv1.2_2019"),
    ("tls_default_certificate", _set("ViewerCertificate", {"CloudFrontDefaultCertificate": True}),
     rules.check_tls_policy, "the default *.cloudfront.net certificate"),
    ("aliases", _set("Aliases", {"Quantity": 1, "Items": ["other.example.test"]}),
     lambda c, d: rules.check_aliases(c, d, DOMAIN), "Aliases: other.example.test"),
    ("error_responses", _set("CustomErrorResponses", {"Quantity": 1, "Items": [
        {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}]}),
     rules.check_error_responses, "CustomErrorResponses 404 -> /index.html (200) also apply to API behavior '/api/*'"),
]


@pytest.mark.parametrize("mutate, check, expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_distribution_fails_its_rule(cf, mutate, check, expected):
    config = good_config()
    mutate(config)
    distribution_id = create(cf, config)
    fetched = fetched_config(cf, distribution_id)
    run = (lambda: check(fetched, distribution_id, CALLS)) if check is rules.check_api_methods else \
        (lambda: check(fetched, distribution_id))
    with pytest.raises(Violation) as info:
        run()
    rendered = info.value.render()
    assert expected in info.value.actual, info.value.actual
    assert f"aws cloudfront get-distribution-config --id {distribution_id}" in rendered
    assert "Traceback" not in rendered and info.value.rule.why in rendered


def test_error_responses_rule_is_advisory():
    assert rules.ERROR_RESPONSES.severity == "advisory"


def test_s3_origin_without_oac_fails(cf):
    distribution_id = create(cf, good_config())
    with pytest.raises(Violation, match="origin 'site' \\(site-bucket\\) has no OriginAccessControlId"):
        rules.check_s3_oac(fetched_config(cf, distribution_id, oac=None), distribution_id)


def test_call_routed_to_the_static_behavior_is_named():
    config = good_config()
    with pytest.raises(Violation, match=r"POST /v2/orders is routed to behavior 'Default \(\*\)' \(not an API "
                                        r"Gateway origin\), whose AllowedMethods are GET, HEAD"):
        rules.check_api_methods(config, "E1", [("POST", "/v2/orders")])


def test_custom_cache_policies_judged_by_their_ttls():
    config = good_config()
    api_behavior(config)["CachePolicyId"] = "custom-api"
    config["DefaultCacheBehavior"]["CachePolicyId"] = "custom-static"
    zero = {"MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 0}
    long = {"MinTTL": 1, "DefaultTTL": 86400, "MaxTTL": 31536000,
            "ParametersInCacheKeyAndForwardedToOrigin": {"CookiesConfig": {"CookieBehavior": "none"}}}
    rules.check_api_cache_disabled(config, "E1", {"custom-api": zero})
    rules.check_static_cache_policy(config, "E1", {"custom-static": long})
    with pytest.raises(Violation, match="custom policy custom-api with TTLs min/default/max 1/86400/31536000"):
        rules.check_api_cache_disabled(config, "E1", {"custom-api": long})
    with pytest.raises(Violation, match="custom policy custom-static"):
        rules.check_static_cache_policy(config, "E1", {})  # unreadable: not verifiable, so named


@pytest.mark.parametrize("alias, domain, covered", [
    ("*.example.test", "www.example.test", True), ("*.example.test", "a.b.example.test", False),
    ("*.example.test", "example.test", False), ("WWW.example.test", "www.example.test", True)])
def test_wildcard_aliases(alias, domain, covered):
    assert rules.alias_covers(alias, domain) is covered
