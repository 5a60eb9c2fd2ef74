"""Distribution configs to create in moto, and reading them back (helpers shared by the tests/aws modules)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from edgeverify.rules import config as rules

DOMAIN = "www.example.test"
API_DOMAIN = "lab0api.execute-api.us-east-1.amazonaws.com"
BUCKET = "site-bucket"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
_refs = itertools.count()


def good_config() -> dict[str, Any]:
    """A distribution configured as edge-rules.md asks: S3 via OAC, /api/* to API Gateway, modern TLS."""
    return {
        "CallerReference": f"edgeverify-test-{next(_refs)}",
        "Comment": "edgeverify test",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Aliases": {"Quantity": 2, "Items": [DOMAIN, "example.test"]},
        "Origins": {"Quantity": 2, "Items": [
            {"Id": "site", "DomainName": f"{BUCKET}.s3.eu-west-1.amazonaws.com", "OriginAccessControlId": "E2OACID",
             "S3OriginConfig": {"OriginAccessIdentity": ""}},
            {"Id": "api", "DomainName": API_DOMAIN,
             "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
             # the secret header the API requires: its execute-api URL refuses everyone else (config.api_origin_secret)
             "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": "s3cr3t"}]}},
        ]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "Compress": True, "CachePolicyId": rules.CACHING_OPTIMIZED,
                                 "ResponseHeadersPolicyId": rules.SECURITY_HEADERS_POLICY},
        "CacheBehaviors": {"Quantity": 1, "Items": [{
            "PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only", "Compress": True,
            "AllowedMethods": {"Quantity": 7, "Items": list(ALL_METHODS),
                               "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
            "CachePolicyId": rules.CACHING_DISABLED, "OriginRequestPolicyId": rules.ALL_VIEWER_EXCEPT_HOST,
            "ResponseHeadersPolicyId": rules.SECURITY_HEADERS_POLICY}]},
        "ViewerCertificate": {"ACMCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/test",
                              "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
    }


def api_behavior(config: dict[str, Any]) -> dict[str, Any]:
    return config["CacheBehaviors"]["Items"][0]


def create(cf: Any, config: dict[str, Any]) -> str:
    """Create the distribution in moto and return its id."""
    return str(cf.create_distribution(DistributionConfig=copy.deepcopy(config))["Distribution"]["Id"])


def fetched_config(cf: Any, distribution_id: str, oac: str | None = "E2OACID") -> dict[str, Any]:
    """The DistributionConfig as boto3 reads it back; oac None: the bucket origin's OriginAccessControlId taken out
    (a distribution created without one).

    moto keeps OriginAccessControlId and S3OriginConfig on origins since 5.2.6 (pyproject requires it), as real
    CloudFront returns them. (moto says CloudFrontDefaultCertificate true beside an ACM certificate; the rules read
    the ARN.)
    """
    config = cf.get_distribution_config(Id=distribution_id)["DistributionConfig"]
    for origin in config["Origins"]["Items"]:
        if origin["Id"] == "site" and ".s3." in origin["DomainName"]:
            if oac:
                origin.setdefault("OriginAccessControlId", oac)
            else:
                origin.pop("OriginAccessControlId", None)
    return config


# ---- AWS's real defaults ---------------------------------------------------------------------------------------
# moto fills what a request leaves out with its own values (Compress true, TTLs 0), where CloudFront returns
# these. Configurations below write them out, so the rules see what get-distribution-config returns on AWS.
#  - Compress false: CloudFront API / CloudFormation DefaultCacheBehavior and CacheBehavior, 'Compress'
#    ("Whether you want CloudFront to automatically compress certain files... If so, specify true; if not,
#    specify false"; omitted means false) https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/
#    aws-properties-cloudfront-distribution-defaultcachebehavior.html
#  - DefaultTTL 86400: "The default value for this field is 86400 seconds (one day)", MaxTTL 31536000: "The
#    default value for this field is 31536000 seconds (one year)", MinTTL 0 (CloudFront API reference,
#    CachePolicyConfig / CacheBehavior DefaultTTL, MaxTTL; the legacy cache settings use the same defaults)
#    https://pub.dev/documentation/aws_cloudfront_api/latest/cloudfront-2020-05-31/CachePolicyConfig/defaultTTL.html
#  - ForwardedValues Cookies Forward none, QueryString false when not set (API reference, ForwardedValues)
#  - AllowedMethods GET, HEAD when not set (API reference, AllowedMethods: "CloudFront forwards only GET and HEAD")
#  - ViewerCertificate without a custom certificate: CloudFrontDefaultCertificate true, MinimumProtocolVersion
#    TLSv1, CertificateSource cloudfront (API reference, ViewerCertificate: "If the distribution doesn't use
#    Aliases ... set CloudFrontDefaultCertificate to true")
#  - CustomErrorResponses ErrorCachingMinTTL 10 (Developer Guide, error caching minimum TTL, default 10 s)
LEGACY_TTLS = {"MinTTL": 0, "DefaultTTL": 86400, "MaxTTL": 31536000}
DEFAULT_CERTIFICATE = {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1",
                       "CertificateSource": "cloudfront"}
SEED_API_DOMAIN = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"


def _legacy(target: str, *, methods: list[str] | None = None, query: bool = False, cookies: str = "none",
            **overrides: Any) -> dict[str, Any]:
    """A legacy-settings behavior with AWS's defaults for whatever the snippet leaves out."""
    methods = methods or ["GET", "HEAD"]
    behavior: dict[str, Any] = {
        "TargetOriginId": target, "ViewerProtocolPolicy": "redirect-to-https", "Compress": False,
        "SmoothStreaming": False,
        "AllowedMethods": {"Quantity": len(methods), "Items": methods,
                           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
        "ForwardedValues": {"QueryString": query, "Cookies": {"Forward": cookies}, "Headers": {"Quantity": 0},
                            "QueryStringCacheKeys": {"Quantity": 0}},
        **LEGACY_TTLS}
    behavior.update(overrides)
    return behavior


def seed_config() -> dict[str, Any]:
    """The seed document's CloudFormation snippets assembled into one distribution, as a new user deploys them.

    /work/shared/seed/000_feefafe253fd065a.txt: S3 default behavior (GET, HEAD), the /api/* behavior (legacy
    ForwardedValues, QueryString true, Cookies all), the API Gateway origin (https-only), a later /api/submit
    behavior with TTLs 0, and ErrorPages 404 -> 200 /index.html. What the snippets leave out gets AWS's default,
    except what CloudFormation refuses to deploy without: ViewerProtocolPolicy and ForwardedValues on /api/submit
    (the user copies redirect-to-https and the minimal ForwardedValues), PATCH in the /api/* methods (CloudFront
    accepts only the full seven-method set), and the alias the user serves (the document's 'static.example.com',
    here the tests' domain).
    """
    return {
        "CallerReference": f"edgeverify-seed-{next(_refs)}",
        "Comment": "",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Aliases": {"Quantity": 1, "Items": [DOMAIN]},
        "Origins": {"Quantity": 2, "Items": [
            {"Id": "S3Origin", "DomainName": "my-bucket.s3.amazonaws.com",
             "S3OriginConfig": {"OriginAccessIdentity": ""}},
            {"Id": "ApiGatewayOrigin", "DomainName": SEED_API_DOMAIN,
             "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}},
        ]},
        "DefaultCacheBehavior": _legacy("S3Origin"),
        "CacheBehaviors": {"Quantity": 2, "Items": [
            {"PathPattern": "/api/*", **_legacy("ApiGatewayOrigin", methods=list(ALL_METHODS), query=True,
                                                cookies="all")},
            {"PathPattern": "/api/submit", **_legacy("ApiGatewayOrigin", MinTTL=0, DefaultTTL=0, MaxTTL=0)},
        ]},
        "CustomErrorResponses": {"Quantity": 1, "Items": [
            {"ErrorCode": 404, "ResponseCode": "200", "ResponsePagePath": "/index.html", "ErrorCachingMinTTL": 10}]},
        "ViewerCertificate": dict(DEFAULT_CERTIFICATE),
    }

NEVER = 10**9  # distribution_state(NEVER): a distribution that stays InProgress through a test
