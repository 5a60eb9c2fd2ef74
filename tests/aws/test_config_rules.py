"""Each config rule passes on the good distribution and fails, naming the behavior and the value, on its bad one.

The rules run on the DistributionConfig read back from the moto server, as the suite reads it from AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jmespath
import pytest

from edgeverify.rules import Violation
from edgeverify.rules import config as rules

from moto_configs import (DOMAIN, LEGACY_TTLS, api_behavior, create, fetched_config, good_config,
                          seed_config)

CALLS = [("GET", "/api/health"), ("POST", "/api/submit")]
CERT_NAMES = [DOMAIN, "example.test"]


def run_all(config: dict[str, Any], distribution_id: str) -> None:
    rules.check_shadowed_behaviors(config, distribution_id)
    rules.check_api_forwarding(config, distribution_id)
    rules.check_alias_certificate(config, distribution_id, CERT_NAMES)
    rules.check_viewer_protocol(config, distribution_id)
    rules.check_compress(config, distribution_id)
    rules.check_api_methods(config, distribution_id, CALLS)
    rules.check_api_cache_disabled(config, distribution_id)
    rules.check_api_origin_request_policy(config, distribution_id)
    rules.check_static_cache_policy(config, distribution_id)
    rules.check_s3_oac(config, distribution_id)
    rules.check_tls_policy(config, distribution_id)
    rules.check_aliases(config, distribution_id, DOMAIN)
    rules.check_error_responses(config, distribution_id, CALLS)
    rules.check_response_headers_policy(config, distribution_id)
    rules.check_error_caching_ttl(config, distribution_id)


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


def _seed_api_behavior(config: dict[str, Any]) -> None:
    """The seed document's /api/* behavior: legacy ForwardedValues, cookies all, AWS's default TTLs."""
    behavior = api_behavior(config)
    for key in ("CachePolicyId", "OriginRequestPolicyId"):
        del behavior[key]
    behavior.update(ForwardedValues={"QueryString": True, "Cookies": {"Forward": "all"}, "Headers": {"Quantity": 0},
                                     "QueryStringCacheKeys": {"Quantity": 0}}, **LEGACY_TTLS)


def _shadowed_submit(config: dict[str, Any]) -> None:
    submit = dict(api_behavior(config), PathPattern="/api/submit",
                  AllowedMethods={"Quantity": 2, "Items": ["GET", "HEAD"],
                                  "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}})
    config["CacheBehaviors"] = {"Quantity": 2, "Items": [api_behavior(config), submit]}


def _authorization_cached(config: dict[str, Any]) -> None:
    _seed_api_behavior(config)
    api_behavior(config)["ForwardedValues"].update(Cookies={"Forward": "none"},
                                                   Headers={"Quantity": 1, "Items": ["Authorization"]})


BAD = [
    ("shadowed_behaviors", _shadowed_submit, rules.check_shadowed_behaviors,
     "behavior '/api/submit' (position 2) can never match: the earlier '/api/*' covers every path it matches"),
    ("api_forwarding_cookies", _seed_api_behavior, rules.check_api_forwarding,
     "behavior '/api/*' puts cookies (all) in the cache key (legacy ForwardedValues) while caching with TTLs "
     "min/default/max 0/86400/31536000"),
    ("api_forwarding_authorization", _seed_api_behavior, rules.check_api_forwarding,
     "behavior '/api/*' does not forward Authorization: CloudFront removes it from GET and HEAD requests"),
    ("api_forwarding_authorization_cached", _authorization_cached, rules.check_api_forwarding,
     "behavior '/api/*' caches per Authorization token (legacy Headers) with TTLs min/default/max 0/86400/31536000"),
    ("api_cache_disabled_legacy_defaults", _seed_api_behavior, rules.check_api_cache_disabled,
     "behavior '/api/*' legacy cache settings with TTLs min/default/max 0/86400/31536000"),
    ("api_origin_request_policy_legacy", _seed_api_behavior, rules.check_api_origin_request_policy,
     "behavior '/api/*' has no origin request policy (legacy ForwardedValues: cookies all, query strings "
     "forwarded, headers none)"),
    ("alias_certificate_default", _set("ViewerCertificate", {"CloudFrontDefaultCertificate": True,
                                                             "MinimumProtocolVersion": "TLSv1",
                                                             "CertificateSource": "cloudfront"}),
     lambda c, d: rules.check_alias_certificate(c, d, None),
     f"Aliases {DOMAIN}, example.test are served with the default *.cloudfront.net certificate"),
    ("alias_certificate_not_covering", _set("Aliases", {"Quantity": 2, "Items": [DOMAIN, "shop.example.test"]}),
     lambda c, d: rules.check_alias_certificate(c, d, CERT_NAMES),
     f"alias shop.example.test is not named by the certificate (names: {DOMAIN}, example.test)"),
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
     "no origin request policy (legacy ForwardedValues: cookies all, query strings forwarded, headers all (*), "
     "forwarding the Host header)"),
    ("api_forwarding_all_headers", _legacy_api_forwarding, rules.check_api_forwarding,
     "behavior '/api/*' forwards all viewer headers (legacy Headers '*'): the viewer's Host reaches API Gateway"),
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
    ("response_headers_policy_api", _set("api.ResponseHeadersPolicyId", ""), rules.check_response_headers_policy,
     "behavior '/api/*' has no response headers policy"),
    ("response_headers_policy_cors_only", _set("default.ResponseHeadersPolicyId", "60669652-455b-4ae9-85a4-c4c02393f86c"),
     rules.check_response_headers_policy, "behavior 'Default (*)' response headers policy SimpleCORS"),
    ("error_caching_ttl", _set("CustomErrorResponses", {"Quantity": 1, "Items": [
        {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 300}]}),
     rules.check_error_caching_ttl, "CustomErrorResponses 404 ErrorCachingMinTTL 300 s"),
    ("compress_legacy_default", _set("default.Compress", False), rules.check_compress,
     "behavior 'Default (*)' Compress false"),
]


@pytest.mark.parametrize("mutate, check, expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_distribution_fails_its_rule(cf, mutate, check, expected):
    config = good_config()
    mutate(config)
    distribution_id = create(cf, config)
    fetched = fetched_config(cf, distribution_id)
    run = (lambda: check(fetched, distribution_id, CALLS)) if check in (rules.check_api_methods,
                                                                         rules.check_error_responses) else \
        (lambda: check(fetched, distribution_id))
    with pytest.raises(Violation) as info:
        run()
    rendered = info.value.render()
    assert expected in info.value.actual, info.value.actual
    assert f"aws cloudfront get-distribution-config --id {distribution_id}" in rendered
    assert "Traceback" not in rendered and info.value.rule.why in rendered
    assert_query_shows_the_config(cf, distribution_id, info.value)


def assert_query_shows_the_config(cf: Any, distribution_id: str, violation: Violation) -> Any:
    """The Reproduce line's --query, evaluated on get-distribution-config's real response shape (as the aws CLI
    does with JMESPath), selects something: never null, never a list of nulls."""
    assert violation.reproduce and " --query '" in violation.reproduce, violation.reproduce
    query = violation.reproduce.split(" --query '", 1)[1].rstrip("'")
    response = cf.get_distribution_config(Id=distribution_id)
    response.pop("ResponseMetadata", None)
    response = json.loads(json.dumps(response, default=str))  # what the CLI prints, then queries
    shown = jmespath.search(query, response)

    def leaves(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [x for v in value.values() for x in leaves(v)]
        if isinstance(value, list):
            return [x for v in value for x in leaves(v)]
        return [value]

    assert shown is not None and any(v is not None for v in leaves(shown)), f"{query} selects {shown!r}"
    return shown


def test_the_old_unrooted_query_prints_null(cf):
    """What the issue saw: a query without the DistributionConfig root selects nothing."""
    distribution_id = create(cf, good_config())
    response = cf.get_distribution_config(Id=distribution_id)
    assert jmespath.search("ViewerCertificate", response) is None
    assert jmespath.search(rules.query_path("ViewerCertificate"), response)["MinimumProtocolVersion"] == "TLSv1.2_2021"


def test_error_responses_fail_with_an_api_and_advise_without():
    config = good_config()
    config["CustomErrorResponses"] = {"Quantity": 1, "Items": [
        {"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}]}
    with pytest.raises(Violation) as info:
        rules.check_error_responses(config, "E1")
    assert not info.value.advisory and rules.ERROR_RESPONSES.severity == "fail"
    # No execute-api origin, but the target declares calls: still a failure, naming them.
    other = dict(config["Origins"]["Items"][1], DomainName="api.example.test")
    config["Origins"]["Items"][1] = other
    with pytest.raises(Violation, match=r"also apply to the declared calls POST /api/submit") as info:
        rules.check_error_responses(config, "E1", [("POST", "/api/submit")])
    assert not info.value.advisory
    # No API declared and none found: the custom origin's errors are swallowed too, an advisory.
    with pytest.raises(Violation, match=r"also apply to behavior '/api/\*' \(a non-S3 origin\)") as info:
        rules.check_error_responses(config, "E1")
    assert info.value.advisory
    # Only S3 behind the distribution: the error pages are the app's routing, nothing to say.
    config["CacheBehaviors"] = {"Quantity": 0}
    rules.check_error_responses(config, "E1")


@pytest.mark.parametrize("general, specific, covered", [
    ("/api/*", "/api/submit", True), ("api/*", "/api/v1/*", True), ("*.js", "/assets/*.js", True),
    ("/api/submit", "/api/*", False), ("/api/*", "/apix", False), ("/a?c", "/abc", True), ("/a?c", "/a*c", False),
    ("*", "/anything/*", True), ("/img/*.png", "/img/*.jpg", False)])
def test_pattern_cover(general, specific, covered):
    assert rules.pattern_covers(general, specific) is covered


def test_shadowed_behavior_gets_no_advice_of_its_own():
    """The unreachable /api/submit is reported once, as shadowed; api_methods does not ask OPTIONS for it."""
    config = seed_config()
    rules.check_api_methods(config, "E1", [("POST", "/api/submit")])  # routed by /api/*, which allows POST
    with pytest.raises(Violation) as info:
        rules.check_compress(config, "E1")
    assert "/api/submit" not in info.value.actual


def test_seed_distribution_fails_every_rule_it_breaks(cf):
    """The seed document's snippets as deployed, with AWS's defaults written out, read back from moto."""
    distribution_id = create(cf, seed_config())
    config = fetched_config(cf, distribution_id, oac=None)
    found = {v.rule.id: v for v in rules.audit(config, distribution_id, DOMAIN, calls=[("POST", "/api/submit")])}
    assert set(found) == {
        "config.shadowed_behaviors", "config.compress", "config.api_cache_disabled",
        "config.api_origin_request_policy", "config.api_forwarding", "config.s3_oac", "config.tls_policy",
        "config.alias_certificate", "config.error_responses_swallow_api", "config.response_headers_policy"}, sorted(found)
    assert not any(v.advisory for v in found.values())
    assert "behavior '/api/*' Compress false; behavior 'Default (*)' Compress false" in found["config.compress"].actual
    assert "0/86400/31536000" in found["config.api_cache_disabled"].actual
    for violation in found.values():
        assert_query_shows_the_config(cf, distribution_id, violation)


def test_with_moto_defaults_compress_and_ttl_rules_stay_silent(cf):
    """Why the tests write AWS's defaults: left to moto, the same snippets look compressed and uncached."""
    config = seed_config()
    for behavior in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]["Items"]]:
        for key in ("Compress", "MinTTL", "DefaultTTL", "MaxTTL"):
            behavior.pop(key, None)
    distribution_id = create(cf, config)
    fetched = fetched_config(cf, distribution_id, oac=None)
    rules.check_compress(fetched, distribution_id)
    rules.check_api_cache_disabled(fetched, distribution_id)


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
