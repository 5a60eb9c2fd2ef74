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
             "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}},
        ]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "Compress": True, "CachePolicyId": rules.CACHING_OPTIMIZED},
        "CacheBehaviors": {"Quantity": 1, "Items": [{
            "PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only", "Compress": True,
            "AllowedMethods": {"Quantity": 7, "Items": list(ALL_METHODS),
                               "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
            "CachePolicyId": rules.CACHING_DISABLED, "OriginRequestPolicyId": rules.ALL_VIEWER_EXCEPT_HOST}]},
        "ViewerCertificate": {"ACMCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/test",
                              "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
    }


def api_behavior(config: dict[str, Any]) -> dict[str, Any]:
    return config["CacheBehaviors"]["Items"][0]


def create(cf: Any, config: dict[str, Any]) -> str:
    """Create the distribution in moto and return its id."""
    return str(cf.create_distribution(DistributionConfig=copy.deepcopy(config))["Distribution"]["Id"])


def fetched_config(cf: Any, distribution_id: str, oac: str | None = "E2OACID") -> dict[str, Any]:
    """The DistributionConfig as boto3 reads it back, with the one field moto drops restored.

    moto 5.2 keeps neither OriginAccessControlId nor S3OriginConfig on origins; real CloudFront returns both.
    """
    config = cf.get_distribution_config(Id=distribution_id)["DistributionConfig"]
    for origin in config["Origins"]["Items"]:
        if oac and origin["Id"] == "site" and ".s3." in origin["DomainName"]:
            origin.setdefault("OriginAccessControlId", oac)
    return config
