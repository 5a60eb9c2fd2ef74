"""A template's AWS::CloudFront::Distribution in the shape the live API gives it (the DistributionConfig boto3's
get_distribution_config returns), with CloudFormation's and CloudFront's defaults for what the template omits:
the config rules (edgeverify/rules/config.py) then judge it unchanged, one implementation for both sources.

Defaults filled where a property is omitted (the same AWS values tests/aws/moto_configs.py writes out for moto,
which fills its own):
 - Compress false, SmoothStreaming false: CloudFormation DefaultCacheBehavior / CacheBehavior 'Compress'
   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cloudfront-distribution-defaultcachebehavior.html
 - MinTTL 0, DefaultTTL 86400, MaxTTL 31536000 on legacy settings (no CachePolicyId): CloudFront API reference,
   CacheBehavior DefaultTTL ("The default value for this field is 86400 seconds (one day)") and MaxTTL
 - AllowedMethods and CachedMethods GET, HEAD (API reference, AllowedMethods)
 - ForwardedValues Cookies Forward none, no Headers, no QueryStringCacheKeys (API reference, ForwardedValues)
 - no ViewerCertificate: CloudFrontDefaultCertificate true, MinimumProtocolVersion TLSv1 (API reference,
   ViewerCertificate); an ACM/IAM certificate without MinimumProtocolVersion: TLSv1 (the API's default, which
   aws-cdk#9200 writes out because CloudFormation requires the field with a certificate)
 - CustomErrorResponses ErrorCachingMinTTL 10 (Developer Guide, error caching minimum TTL)
 - origins: OriginPath "", ConnectionAttempts 3, ConnectionTimeout 10; custom origins HTTPPort 80,
   HTTPSPort 443, OriginReadTimeout 30, OriginKeepaliveTimeout 5 (CloudFormation Origin / CustomOriginConfig)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..rules import config as rules
from .resolve import Resolver
from .source import Template, TemplateError, key_line, line_of

LEGACY_TTLS = {"MinTTL": 0, "DefaultTTL": 86400, "MaxTTL": 31536000}
DEFAULT_METHODS = ["GET", "HEAD"]
DEFAULT_CERTIFICATE = {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1",
                       "CertificateSource": "cloudfront"}
CERTIFICATE_PROTOCOL = "TLSv1"
ERROR_CACHING_MIN_TTL = 10
ORIGIN_DEFAULTS = {"OriginPath": "", "ConnectionAttempts": 3, "ConnectionTimeout": 10}
CUSTOM_ORIGIN_DEFAULTS = {"HTTPPort": 80, "HTTPSPort": 443, "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5}
# Managed policies by the names the console and the docs use ("Managed-CachingDisabled", "CachingDisabled").
POLICY_IDS = {name.lower(): pid for pid, name in rules.MANAGED_POLICIES.items()}
API_TYPES = {"AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api", "AWS::Serverless::Api", "AWS::Serverless::HttpApi"}
INVENTORY_TYPES = {
    "AWS::S3::Bucket": "bucket", "AWS::S3::BucketPolicy": "bucket policy", "AWS::Lambda::Permission":
    "Lambda permission", "AWS::CloudFront::CachePolicy": "cache policy", "AWS::CloudFront::OriginRequestPolicy":
    "origin request policy", "AWS::CloudFront::ResponseHeadersPolicy": "response headers policy",
    "AWS::CloudFront::OriginAccessControl": "origin access control", "AWS::CloudFront::Function":
    "CloudFront function", "AWS::CertificateManager::Certificate": "certificate", "AWS::Serverless::Function": "function", "AWS::Lambda::Function": "function",
    **{t: "API" for t in API_TYPES}}


@dataclass(slots=True)
class Place:
    """Where a part of the distribution is written: its property path and its decoded mapping (key lines)."""

    path: str
    node: Any
    at: int | None = None  # the line of the key holding it (DefaultCacheBehavior:), else the mapping's first line

    def line(self, key: str | None = None) -> int | None:
        if key:
            for k in self.node if isinstance(self.node, dict) else ():
                if k == key:
                    return line_of(k) or line_of(self.node)
        return self.at or line_of(self.node)


@dataclass(slots=True)
class Distribution:
    """One AWS::CloudFront::Distribution of a template, as the config rules see it."""

    logical_id: str
    config: dict[str, Any]  # the DistributionConfig as boto3 returns it
    root: Place  # the DistributionConfig property
    behaviors: dict[str, Place] = field(default_factory=dict)  # 'Default (*)' or the PathPattern -> where
    origins: dict[str, Place] = field(default_factory=dict)  # origin Id -> where
    origin_refs: dict[str, list[str]] = field(default_factory=dict)  # origin Id -> logical ids it refers to
    cache_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # the template's own, by resolved id
    filled: list[str] = field(default_factory=list)  # "CacheBehaviors[0].Compress false": defaults used
    names: list[str] = field(default_factory=list)  # managed policy names resolved to ids
    resolver: Resolver | None = None


def _qty(items: Any) -> dict[str, Any]:
    items = list(items) if isinstance(items, list) else [] if items in (None, "") else [items]
    return {"Quantity": len(items), "Items": items} if items else {"Quantity": 0}


def _ints(source: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for key in keys:
        if key in source:
            value = source[key]
            out[key] = int(value) if isinstance(value, (int, float)) or str(value).lstrip("-").isdigit() else value
    return out


class _Converter:
    def __init__(self, template: Template, logical_id: str, resolver: Resolver) -> None:
        self.template, self.logical_id, self.resolver = template, logical_id, resolver
        self.base = f"Resources.{logical_id}.Properties.DistributionConfig"
        self.filled: list[str] = []
        self.names: list[str] = []

    def fill(self, target: dict[str, Any], key: str, value: Any, where: str, shown: bool = True) -> None:
        """Set an omitted property to its default; `shown`: listed among the defaults the rules judged."""
        if key not in target:
            target[key] = value
            if shown:
                text = str(value).lower() if isinstance(value, bool) else value
                self.filled.append(f"{where.removeprefix(self.base + '.')}.{key} {text}")

    def short(self, where: str) -> str:
        return where.removeprefix(self.base + ".")

    def policy_id(self, value: Any, where: str) -> Any:
        """A managed policy written by name becomes its id (CloudFormation itself needs the id)."""
        if isinstance(value, str):
            name = value.strip().lower().removeprefix("managed-")
            if name in POLICY_IDS and value not in rules.MANAGED_POLICIES:
                self.names.append(f"{where}: '{value}' is the managed policy {POLICY_IDS[name]} (CloudFormation needs "
                                  f"the id: write {POLICY_IDS[name]})")
                return POLICY_IDS[name]
        return value

    def behavior(self, b: dict[str, Any], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("PathPattern", "TargetOriginId", "ViewerProtocolPolicy", "ResponseHeadersPolicyId",
                    "RealtimeLogConfigArn", "FieldLevelEncryptionId", "Compress", "SmoothStreaming"):
            if key in b:
                out[key] = b[key]
        for key in ("CachePolicyId", "OriginRequestPolicyId"):
            if key in b:
                out[key] = self.policy_id(b[key], f"{where}.{key}")
        out.update(_ints(b, ("MinTTL", "DefaultTTL", "MaxTTL")))
        self.fill(out, "Compress", False, where)
        self.fill(out, "SmoothStreaming", False, where, shown=False)
        if "AllowedMethods" not in b:
            self.filled.append(f"{self.short(where)}.AllowedMethods {', '.join(DEFAULT_METHODS)}")
        methods = [str(m).upper() for m in b.get("AllowedMethods") or DEFAULT_METHODS]
        cached = [str(m).upper() for m in b.get("CachedMethods") or DEFAULT_METHODS]
        out["AllowedMethods"] = {**_qty(methods), "CachedMethods": _qty(cached)}
        if "ForwardedValues" in b:
            fv = b["ForwardedValues"] or {}
            cookies = dict(fv.get("Cookies") or {})
            if "Forward" not in cookies:
                self.filled.append(f"{self.short(where)}.ForwardedValues.Cookies.Forward none")
            converted_cookies: dict[str, Any] = {"Forward": cookies.get("Forward") or "none"}
            if "WhitelistedNames" in cookies:
                converted_cookies["WhitelistedNames"] = _qty(cookies["WhitelistedNames"])
            out["ForwardedValues"] = {"QueryString": bool(fv.get("QueryString")), "Cookies": converted_cookies,
                                      "Headers": _qty(fv.get("Headers")),
                                      "QueryStringCacheKeys": _qty(fv.get("QueryStringCacheKeys"))}
        if not out.get("CachePolicyId"):
            for key, value in LEGACY_TTLS.items():
                self.fill(out, key, value, where)
        out["LambdaFunctionAssociations"] = _qty([
            {"LambdaFunctionARN": a.get("LambdaFunctionARN"), "EventType": a.get("EventType"),
             "IncludeBody": bool(a.get("IncludeBody"))} for a in b.get("LambdaFunctionAssociations") or []])
        out["FunctionAssociations"] = _qty([{"FunctionARN": a.get("FunctionARN"), "EventType": a.get("EventType")}
                                            for a in b.get("FunctionAssociations") or []])
        for key in ("TrustedSigners", "TrustedKeyGroups"):
            items = list(b.get(key) or [])
            out[key] = {"Enabled": bool(items), **_qty(items)}
        return out

    def origin(self, o: dict[str, Any], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {k: o[k] for k in ("Id", "DomainName", "OriginPath", "ConnectionAttempts",
                                                 "ConnectionTimeout", "OriginAccessControlId", "OriginShield")
                               if k in o and o[k] not in (None, "")}
        for key, value in ORIGIN_DEFAULTS.items():
            self.fill(out, key, value, where, shown=False)
        out["CustomHeaders"] = _qty(o.get("OriginCustomHeaders"))
        if "S3OriginConfig" in o:
            s3 = dict(o.get("S3OriginConfig") or {})
            out["S3OriginConfig"] = {"OriginAccessIdentity": s3.get("OriginAccessIdentity") or ""}
        if "CustomOriginConfig" in o:
            custom = dict(o.get("CustomOriginConfig") or {})
            converted = {k: custom[k] for k in ("OriginProtocolPolicy",) if k in custom}
            converted.update(_ints(custom, tuple(CUSTOM_ORIGIN_DEFAULTS)))
            for key, value in CUSTOM_ORIGIN_DEFAULTS.items():
                self.fill(converted, key, value, f"{where}.CustomOriginConfig", shown=False)
            if "OriginSSLProtocols" in custom:
                converted["OriginSslProtocols"] = _qty(custom["OriginSSLProtocols"])
            out["CustomOriginConfig"] = converted
        return out

    def certificate(self, vc: dict[str, Any] | None, where: str) -> dict[str, Any]:
        vc = dict(vc or {})
        arn, iam = vc.get("AcmCertificateArn"), vc.get("IamCertificateId")
        if not (arn or iam):
            if not vc:
                self.filled.append(f"{self.short(where)} CloudFrontDefaultCertificate true, MinimumProtocolVersion TLSv1")
            return dict(DEFAULT_CERTIFICATE)
        out: dict[str, Any] = {"CloudFrontDefaultCertificate": False}
        if arn:
            out.update(ACMCertificateArn=arn, Certificate=arn, CertificateSource="acm")
        else:
            out.update(IAMCertificateId=iam, Certificate=iam, CertificateSource="iam")
        if "SslSupportMethod" in vc:
            out["SSLSupportMethod"] = vc["SslSupportMethod"]
        out["MinimumProtocolVersion"] = vc.get("MinimumProtocolVersion") or CERTIFICATE_PROTOCOL
        if not vc.get("MinimumProtocolVersion"):
            self.filled.append(f"{self.short(where)}.MinimumProtocolVersion {CERTIFICATE_PROTOCOL}")
        return out

    def error_response(self, r: dict[str, Any], where: str) -> dict[str, Any]:
        out: dict[str, Any] = _ints(r, ("ErrorCode", "ErrorCachingMinTTL"))
        if "ResponsePagePath" in r:
            out["ResponsePagePath"] = r["ResponsePagePath"]
        if "ResponseCode" in r:
            out["ResponseCode"] = str(r["ResponseCode"])  # a string in the API
        self.fill(out, "ErrorCachingMinTTL", ERROR_CACHING_MIN_TTL, where, shown=False)
        return out


def _at(node: Any, key: str) -> Any:
    return node.get(key) if isinstance(node, dict) else None


def _listed(node: Any, i: int) -> Any:
    return node[i] if isinstance(node, list) and i < len(node) else None


def distribution(template: Template, logical_id: str, region: str = "us-east-1") -> Distribution:
    """The DistributionConfig of one AWS::CloudFront::Distribution resource, in the API's shape."""
    resource = template.resources[logical_id] or {}
    raw = _at(_at(resource, "Properties"), "DistributionConfig")
    if not isinstance(raw, dict):
        line = line_of(resource)
        raise TemplateError(f"Template {template.path}{f', line {line}' if line else ''}, property Resources."
                            f"{logical_id}.Properties.DistributionConfig: missing (a distribution needs it).")
    resolver = Resolver(template, region)
    conv = _Converter(template, logical_id, resolver)
    base = conv.base
    dc = resolver.value(raw, base)
    props = _at(resource, "Properties")
    found = Distribution(logical_id, {}, Place(base, raw, key_line(props, "DistributionConfig")), resolver=resolver)
    origins = []
    for i, o in enumerate(dc.get("Origins") or []):
        where = f"{base}.Origins[{i}]"
        refs_before, noted = set(resolver.references), len(resolver.unresolved)
        resolver.references.clear()
        resolver.value(_at(_listed(raw.get("Origins"), i), "DomainName"), f"{where}.DomainName")
        found.origin_refs[str(o.get("Id"))] = sorted(resolver.references)
        resolver.references |= refs_before
        del resolver.unresolved[noted:]  # already noted when the whole config was resolved
        origins.append(conv.origin(o, where))
        found.origins[str(o.get("Id"))] = Place(where, _listed(raw.get("Origins"), i))
    default = conv.behavior(dict(dc.get("DefaultCacheBehavior") or {}), f"{base}.DefaultCacheBehavior")
    found.behaviors[rules.DEFAULT_BEHAVIOR] = Place(f"{base}.DefaultCacheBehavior", raw.get("DefaultCacheBehavior"),
                                                    key_line(raw, "DefaultCacheBehavior"))
    behaviors = []
    for i, b in enumerate(dc.get("CacheBehaviors") or []):
        where = f"{base}.CacheBehaviors[{i}]"
        behaviors.append(conv.behavior(dict(b), where))
        found.behaviors.setdefault(str(b.get("PathPattern", "")), Place(where, _listed(raw.get("CacheBehaviors"), i)))
    config: dict[str, Any] = {
        "CallerReference": f"template:{logical_id}",
        "Aliases": _qty(dc.get("Aliases") or dc.get("CNAMEs")),
        "DefaultRootObject": dc.get("DefaultRootObject") or "",
        "Origins": _qty(origins),
        "DefaultCacheBehavior": default,
        "CacheBehaviors": _qty(behaviors),
        "CustomErrorResponses": _qty([conv.error_response(dict(r), f"{base}.CustomErrorResponses[{i}]")
                                      for i, r in enumerate(dc.get("CustomErrorResponses") or [])]),
        "Comment": dc.get("Comment") or "",
        "PriceClass": dc.get("PriceClass") or "PriceClass_All",
        "Enabled": bool(dc.get("Enabled")),
        "ViewerCertificate": conv.certificate(dc.get("ViewerCertificate"), f"{base}.ViewerCertificate"),
    }
    for key, api_key in (("HttpVersion", "HttpVersion"), ("IPV6Enabled", "IsIPV6Enabled"), ("WebACLId", "WebACLId"),
                         ("OriginGroups", "OriginGroups"), ("Staging", "Staging")):
        if key in dc:
            config[api_key] = dc[key]
    found.config, found.filled, found.names = config, conv.filled, conv.names
    found.cache_policies = cache_policies(template, resolver)
    return found


def cache_policies(template: Template, resolver: Resolver) -> dict[str, dict[str, Any]]:
    """The template's own AWS::CloudFront::CachePolicy resources, by the id a Ref to them resolves to."""
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.resources.items():
        if (resource or {}).get("Type") != "AWS::CloudFront::CachePolicy":
            continue
        config = resolver.value(_at(_at(resource, "Properties"), "CachePolicyConfig") or {},
                                f"Resources.{logical_id}.Properties.CachePolicyConfig")
        converted = {"Name": config.get("Name", logical_id), **_ints(config, ("MinTTL", "DefaultTTL", "MaxTTL"))}
        params = dict(config.get("ParametersInCacheKeyAndForwardedToOrigin") or {})
        converted["ParametersInCacheKeyAndForwardedToOrigin"] = {
            **params, "CookiesConfig": {"CookieBehavior": (params.get("CookiesConfig") or {}).get("CookieBehavior")
                                        or "none"}}
        found["${" + logical_id + "}"] = converted
    return found


def distributions(template: Template, region: str = "us-east-1") -> list[Distribution]:
    return [distribution(template, logical_id, region) for logical_id, r in template.resources.items()
            if (r or {}).get("Type") == "AWS::CloudFront::Distribution"]


def inventory(template: Template) -> list[tuple[str, str, int | None]]:
    """(what, logical id, line) of the resources around a distribution: buckets, APIs, functions, permissions,
    policies and origin access controls."""
    return [(INVENTORY_TYPES[str(r.get("Type"))], logical_id, line_of(r)) for logical_id, r in
            template.resources.items() if isinstance(r, dict) and str(r.get("Type")) in INVENTORY_TYPES]
