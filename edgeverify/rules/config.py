"""config: the CloudFront distribution's own configuration, audited from its DistributionConfig, and bucket parity.

Every check is a pure function over the DistributionConfig dict that boto3's get_distribution_config
returns (and, for parity, over bucket listings paired with edge exchanges). The suite does the I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..exchange import Exchange
from . import Violation, raise_collected, rule

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
MANAGED_POLICIES = {  # AWS managed policy ids, to name what was found
    CACHING_OPTIMIZED: "CachingOptimized",
    CACHING_DISABLED: "CachingDisabled",
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": "CachingOptimizedForUncompressedObjects",
    "2e54312d-136d-493c-8eb9-b001f22f67d2": "Amplify",
    ALL_VIEWER_EXCEPT_HOST: "AllViewerExceptHostHeader",
    "216adef6-5c7f-47e4-b989-5492eafa07d3": "AllViewer",
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": "AllViewerAndCloudFrontHeaders-2022-06",
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": "CORS-S3Origin",
    "59781a5b-3903-41f3-afcb-af62929ccde1": "CORS-CustomOrigin",
    "acba4595-bd28-49b8-b9fe-13317c0390fa": "UserAgentRefererHeaders",
}
STATIC_EQUIVALENT = {CACHING_OPTIMIZED, "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"}
MODERN_TLS = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
ONE_YEAR = 31_536_000
DEFAULT_BEHAVIOR = "Default (*)"

_S3_REST = re.compile(r"^(?P<bucket>.+)\.s3(?:[.-](?P<region>[a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$")
_S3_WEBSITE = re.compile(r"^(?P<bucket>.+)\.s3-website[.-](?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")

VIEWER_PROTOCOL = rule(
    "config.viewer_protocol",
    "Every behavior's ViewerProtocolPolicy is redirect-to-https or https-only",
    "With allow-all, the behavior serves its paths over plain HTTP, open to tampering, and HSTS never gets a "
    "first HTTPS answer. Set ViewerProtocolPolicy: redirect-to-https on the default and every cache behavior.",
    "CloudFront DistributionConfig ViewerProtocolPolicy; Mozilla HTTP Observatory 'redirection'",
)
COMPRESS = rule(
    "config.compress",
    "Every behavior has Compress on",
    "Without Compress CloudFront serves JavaScript, CSS and JSON uncompressed, often 3-5 times the bytes. Set "
    "Compress: true on each behavior (the cache policy must also allow gzip and brotli, as CachingOptimized does).",
    "CloudFront Developer Guide, 'Serving compressed files'",
)
API_METHODS = rule(
    "config.api_methods",
    "The API behavior allows every method the API uses, plus OPTIONS",
    "CloudFront refuses a method the behavior does not allow with its own 403 ('This distribution is not "
    "configured to allow the HTTP request method...') before the API sees it; without OPTIONS every CORS preflight "
    "fails. Set the API behavior's AllowedMethods to GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE.",
    "CloudFront AllowedMethods; serverless-next.js #454, #362; sst #2948",
)
API_CACHE_DISABLED = rule(
    "config.api_cache_disabled",
    "The API behavior does not cache: CachingDisabled, or all TTLs 0",
    "A cache policy with Min TTL above 0 caches API answers even when they say no-store, so one user's response "
    "is served to another and writes look lost. Attach the managed CachingDisabled policy "
    f"({CACHING_DISABLED}) to the API behavior.",
    "CloudFront CreateCachePolicy reference (MinTTL overrides no-store)",
)
API_ORIGIN_REQUEST_POLICY = rule(
    "config.api_origin_request_policy",
    "The API behavior forwards viewer headers except Host (AllViewerExceptHostHeader)",
    "API Gateway routes by the Host header: forwarding the viewer's Host gets {\"message\":\"Forbidden\"}; forwarding "
    "nothing drops query strings, cookies and Authorization. Attach the managed AllViewerExceptHostHeader origin "
    f"request policy ({ALL_VIEWER_EXCEPT_HOST}) to the API behavior.",
    "CloudFront managed origin request policies; edge-rules.md 'Error signatures'",
)
STATIC_CACHE_POLICY = rule(
    "config.static_cache_policy",
    "Static (S3) behaviors cache: CachingOptimized or an equivalent policy",
    "Without caching every asset request goes to S3: slower pages, higher cost, and no protection from request "
    "spikes; a cache key holding cookies or query strings splits the cache. Attach the managed CachingOptimized "
    f"policy ({CACHING_OPTIMIZED}) to static behaviors, and control HTML freshness with Cache-Control on the objects.",
    "CloudFront managed cache policies",
)
S3_OAC = rule(
    "config.s3_oac",
    "The S3 origin is the bucket's REST endpoint reached through Origin Access Control",
    "A website endpoint (s3-website-*) needs a public bucket, speaks only HTTP to CloudFront and bypasses OAC; an "
    "origin without OAC needs a public bucket too, so the files are reachable around the CDN. Use the REST "
    "endpoint (<bucket>.s3.<region>.amazonaws.com) with an Origin Access Control, and a bucket policy allowing "
    "only cloudfront.amazonaws.com for this distribution.",
    "CloudFront Developer Guide, 'Restricting access to an Amazon S3 origin'",
)
TLS_POLICY = rule(
    "config.tls_policy",
    "The viewer certificate's security policy is TLSv1.2_2021 (or newer)",
    "Older security policies accept TLS 1.0/1.1 and weak ciphers (RFC 8996, PCI DSS). Set "
    "ViewerCertificate.MinimumProtocolVersion: TLSv1.2_2021 with an ACM certificate in us-east-1.",
    "CloudFront supported protocols and ciphers between viewers and CloudFront",
    threshold="TLSv1.2_2021, TLSv1.2_2025 or TLSv1.3_2025",
)
ALIASES = rule(
    "config.aliases",
    "The distribution's Aliases include the target domain",
    "CloudFront answers only the host names in Aliases (others get 403 'Bad request'), and the certificate must "
    "cover them. Add the domain to Aliases and to the ACM certificate's names.",
    "CloudFront alternate domain names (CNAMEs)",
)
ERROR_RESPONSES = rule(
    "config.error_responses_swallow_api",
    "No distribution-wide 403/404 custom error response rewrites API errors into the app shell",
    "Custom error responses apply to every behavior: mapping 403/404 to /index.html for SPA routing also turns "
    "the API's own 403/404 JSON into 200 HTML, so clients cannot see the error. Route deep links with a "
    "viewer-request CloudFront Function on the default behavior instead, and remove the custom error responses.",
    "edge-rules.md 'spa' (the pitfall users hit most); aws-samples/cloudfront-authorization-at-edge #25",
    severity="advisory",
)
BUCKET_PARITY = rule(
    "config.bucket_parity",
    "The edge serves every bucket object with the bucket's size and ETag",
    "A difference means a partial sync (objects missing or old at the edge), a stale edge cache (invalidate the "
    "changed paths), or an origin other than this bucket. Finish the upload, then invalidate what changed.",
    "S3 ListObjectsV2 ETag and Size against the edge's ETag and Content-Length",
)


# ---- reading a DistributionConfig ----------------------------------------------------------------------------


def _items(section: Mapping[str, Any] | None) -> list[Any]:
    return list((section or {}).get("Items") or [])


def behaviors(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, behavior) pairs: the cache behaviors in order, then the default as 'Default (*)'."""
    named = [(str(b.get("PathPattern", "")), b) for b in _items(config.get("CacheBehaviors"))]
    return named + [(DEFAULT_BEHAVIOR, dict(config.get("DefaultCacheBehavior") or {}))]


def origins(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["Id"]: o for o in _items(config.get("Origins"))}


def origin_of(config: Mapping[str, Any], behavior: Mapping[str, Any]) -> dict[str, Any]:
    return origins(config).get(str(behavior.get("TargetOriginId")), {})


def is_api_origin(origin: Mapping[str, Any]) -> bool:
    return ".execute-api." in str(origin.get("DomainName", ""))


def s3_bucket(origin: Mapping[str, Any]) -> tuple[str, str] | None:
    """(bucket, 'rest' or 'website') when the origin is an S3 endpoint."""
    domain = str(origin.get("DomainName", "")).lower()
    for kind, pattern in (("website", _S3_WEBSITE), ("rest", _S3_REST)):
        match = pattern.match(domain)
        if match:
            return match.group("bucket"), kind
    return None


def api_behaviors(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(n, b) for n, b in behaviors(config) if is_api_origin(origin_of(config, b))]


def static_behaviors(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(n, b) for n, b in behaviors(config) if s3_bucket(origin_of(config, b))]


def behavior_for(config: Mapping[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    """The behavior CloudFront picks for a path: the first matching PathPattern, else the default."""
    for name, behavior in behaviors(config)[:-1]:
        if _path_matches(name, path):
            return name, behavior
    return behaviors(config)[-1]


def _path_matches(pattern: str, path: str) -> bool:
    # CloudFront patterns: '*' any characters (slashes too), '?' one; case-sensitive; leading '/' optional.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in "/" + pattern.lstrip("/"))
    return re.fullmatch(regex, path) is not None


def allowed_methods(behavior: Mapping[str, Any]) -> list[str]:
    return [m.upper() for m in _items(behavior.get("AllowedMethods"))] or ["GET", "HEAD"]


def policy_name(policy_id: str | None) -> str:
    if not policy_id:
        return "none"
    name = MANAGED_POLICIES.get(policy_id)
    return f"{name} ({policy_id})" if name else f"custom policy {policy_id}"


def reproduce(distribution_id: str, query: str) -> str:
    return f"aws cloudfront get-distribution-config --id {distribution_id} --query '{query}'"


def _fail(rule_: Any, expected: str, problems: list[str], cause: str, distribution_id: str, query: str) -> None:
    if problems:
        raise Violation(rule_, expected, "; ".join(problems), cause=cause,
                        reproduce=reproduce(distribution_id, query))


_BEHAVIORS_QUERY = "[DefaultCacheBehavior, CacheBehaviors.Items[]]"


# ---- checks ---------------------------------------------------------------------------------------------------


def check_viewer_protocol(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = [f"behavior '{n}' ViewerProtocolPolicy {b.get('ViewerProtocolPolicy') or '(unset)'}"
                for n, b in behaviors(config)
                if b.get("ViewerProtocolPolicy") not in ("redirect-to-https", "https-only")]
    _fail(VIEWER_PROTOCOL, "redirect-to-https or https-only on every behavior", problems,
          "the behavior was created with allow-all (the CloudFormation default when omitted is not HTTPS-only)",
          distribution_id, _BEHAVIORS_QUERY)


def check_compress(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = [f"behavior '{n}' Compress {str(b.get('Compress', False)).lower()}"
                for n, b in behaviors(config) if not b.get("Compress")]
    _fail(COMPRESS, "Compress: true on every behavior", problems,
          "Compress defaults to false in CloudFormation and the API unless set", distribution_id, _BEHAVIORS_QUERY)


def check_api_methods(config: Mapping[str, Any], distribution_id: str, calls: Iterable[tuple[str, str]]) -> None:
    """`calls`: (method, path) of every API call the target declares; each must be allowed where it is routed."""
    problems = []
    for name, behavior in api_behaviors(config):
        allowed = allowed_methods(behavior)
        if "OPTIONS" not in allowed:
            problems.append(f"behavior '{name}' AllowedMethods {', '.join(allowed)}: no OPTIONS (CORS preflight)")
    for method, path in calls:
        name, behavior = behavior_for(config, path)
        allowed = allowed_methods(behavior)
        if method.upper() not in allowed:
            where = "" if is_api_origin(origin_of(config, behavior)) else " (not an API Gateway origin)"
            problems.append(f"{method.upper()} {path} is routed to behavior '{name}'{where}, "
                            f"whose AllowedMethods are {', '.join(allowed)}")
    _fail(API_METHODS, "every API call's method, and OPTIONS, in its behavior's AllowedMethods", problems,
          "AllowedMethods was left at GET, HEAD (the default) or GET, HEAD, OPTIONS; only the full set allows "
          "POST/PUT/PATCH/DELETE", distribution_id, "CacheBehaviors.Items[].[PathPattern, AllowedMethods.Items]")


def _ttls(source: Mapping[str, Any]) -> tuple[int, int, int]:
    return int(source.get("MinTTL") or 0), int(source.get("DefaultTTL") or 0), int(source.get("MaxTTL") or 0)


def check_api_cache_disabled(config: Mapping[str, Any], distribution_id: str,
                             cache_policies: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """`cache_policies`: CachePolicyConfig by id, for custom policies the caller could read."""
    problems = []
    for name, behavior in api_behaviors(config):
        policy_id = behavior.get("CachePolicyId") or ""
        if policy_id == CACHING_DISABLED:
            continue
        if policy_id:
            policy = (cache_policies or {}).get(policy_id)
            if policy is not None and _ttls(policy) == (0, 0, 0):
                continue
            ttls = f" with TTLs min/default/max {'/'.join(map(str, _ttls(policy)))}" if policy is not None else ""
            problems.append(f"behavior '{name}' cache policy {policy_name(policy_id)}{ttls}")
        elif _ttls(behavior) != (0, 0, 0):
            problems.append(f"behavior '{name}' legacy cache settings with TTLs min/default/max "
                            f"{'/'.join(map(str, _ttls(behavior)))}")
    _fail(API_CACHE_DISABLED, f"CachingDisabled ({CACHING_DISABLED}) or TTLs 0/0/0 on the API behavior", problems,
          "the API behavior copied the static behavior's cache policy", distribution_id,
          "CacheBehaviors.Items[].[PathPattern, CachePolicyId, MinTTL, DefaultTTL, MaxTTL]")


def check_api_origin_request_policy(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = []
    for name, behavior in api_behaviors(config):
        policy_id = behavior.get("OriginRequestPolicyId") or ""
        if policy_id == ALL_VIEWER_EXCEPT_HOST:
            continue
        if policy_id:
            problems.append(f"behavior '{name}' origin request policy {policy_name(policy_id)}")
            continue
        headers = [h.lower() for h in _items((behavior.get("ForwardedValues") or {}).get("Headers"))]
        host = " forwarding the Host header" if "host" in headers or "*" in headers else ""
        problems.append(f"behavior '{name}' has no origin request policy (legacy ForwardedValues{host})")
    _fail(API_ORIGIN_REQUEST_POLICY, f"AllViewerExceptHostHeader ({ALL_VIEWER_EXCEPT_HOST}) on the API behavior",
          problems, "the behavior forwards the viewer's Host (AllViewer, legacy forwarding of all headers) or "
          "too little (no policy)", distribution_id, "CacheBehaviors.Items[].[PathPattern, OriginRequestPolicyId]")


def _caches_like_optimized(source: Mapping[str, Any]) -> bool:
    # Equivalent to CachingOptimized: caches for a long time, cookies out of the cache key.
    params = source.get("ParametersInCacheKeyAndForwardedToOrigin") or source.get("ForwardedValues") or {}
    cookies = (params.get("CookiesConfig") or {}).get("CookieBehavior") or (params.get("Cookies") or {}).get("Forward")
    _, default_ttl, max_ttl = _ttls(source)
    return default_ttl > 0 and max_ttl >= ONE_YEAR and cookies in (None, "none")


def check_static_cache_policy(config: Mapping[str, Any], distribution_id: str,
                              cache_policies: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    problems = []
    for name, behavior in static_behaviors(config):
        policy_id = behavior.get("CachePolicyId") or ""
        if policy_id in STATIC_EQUIVALENT:
            continue
        if policy_id:
            policy = (cache_policies or {}).get(policy_id)
            if policy is not None and _caches_like_optimized(policy):
                continue
            problems.append(f"behavior '{name}' cache policy {policy_name(policy_id)}")
        elif not _caches_like_optimized(behavior):
            problems.append(f"behavior '{name}' legacy cache settings (TTLs min/default/max "
                            f"{'/'.join(map(str, _ttls(behavior)))}), not equivalent to CachingOptimized")
    _fail(STATIC_CACHE_POLICY, f"CachingOptimized ({CACHING_OPTIMIZED}) or an equivalent on static behaviors",
          problems, "the static behavior uses CachingDisabled or a policy with short TTLs or cookies in the key",
          distribution_id, "[DefaultCacheBehavior.CachePolicyId, CacheBehaviors.Items[].[PathPattern, CachePolicyId]]")


def check_s3_oac(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = []
    for origin in origins(config).values():
        found = s3_bucket(origin)
        if found is None:
            continue
        bucket, kind = found
        if kind == "website":
            problems.append(f"origin '{origin['Id']}' is the public website endpoint {origin['DomainName']}")
        elif not origin.get("OriginAccessControlId"):
            oai = (origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity")
            problems.append(f"origin '{origin['Id']}' ({bucket}) " +
                            (f"uses the legacy origin access identity {oai}" if oai else
                             "has no OriginAccessControlId (the bucket must be public to serve it)"))
    _fail(S3_OAC, "the bucket's REST endpoint with an OriginAccessControlId", problems,
          "the origin was set up as a website endpoint or a public bucket (or predates OAC)", distribution_id,
          "Origins.Items[].[Id, DomainName, OriginAccessControlId]")


def check_tls_policy(config: Mapping[str, Any], distribution_id: str) -> None:
    cert = config.get("ViewerCertificate") or {}
    version = cert.get("MinimumProtocolVersion") or "(unset)"
    custom = cert.get("ACMCertificateArn") or cert.get("IAMCertificateId")
    actual = (f"MinimumProtocolVersion {version}" if custom else
              "the default *.cloudfront.net certificate (its policy is TLSv1 and cannot be raised)")
    problems = [] if custom and version in MODERN_TLS else [actual]
    _fail(TLS_POLICY, "MinimumProtocolVersion TLSv1.2_2021 with a custom (ACM) certificate", problems,
          "the security policy was left at a legacy default", distribution_id, "ViewerCertificate")


def alias_covers(alias: str, domain: str) -> bool:
    alias, domain = alias.lower().rstrip("."), domain.lower().rstrip(".")
    if alias.startswith("*."):  # a wildcard alias covers exactly one more label
        head, _, rest = domain.partition(".")
        return bool(head) and rest == alias[2:]
    return alias == domain


def check_aliases(config: Mapping[str, Any], distribution_id: str, domain: str,
                  distribution_domain: str | None = None) -> None:
    aliases = [str(a) for a in _items(config.get("Aliases"))]
    if distribution_domain and domain.lower() == distribution_domain.lower():
        return  # the target tests the *.cloudfront.net name itself
    if any(alias_covers(a, domain) for a in aliases):
        return
    raise Violation(ALIASES, f"{domain} in Aliases", f"Aliases: {', '.join(aliases) or '(none)'}",
                    cause="the domain was added to DNS but not to the distribution (or to another distribution)",
                    reproduce=reproduce(distribution_id, "Aliases"))


def check_error_responses(config: Mapping[str, Any], distribution_id: str) -> None:
    apis = [n for n, _ in api_behaviors(config)]
    if not apis:
        return
    swallowing = [f"{r.get('ErrorCode')} -> {r.get('ResponsePagePath')} ({r.get('ResponseCode') or 'same code'})"
                  for r in _items(config.get("CustomErrorResponses"))
                  if int(r.get("ErrorCode") or 0) in (403, 404) and r.get("ResponsePagePath")]
    _fail(ERROR_RESPONSES, "no 403/404 custom error response while an API behavior exists",
          [f"CustomErrorResponses {', '.join(swallowing)} also apply to API behavior '{', '.join(apis)}'"]
          if swallowing else [],
          "SPA routing done with distribution-wide error pages", distribution_id, "CustomErrorResponses")


# ---- bucket parity -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BucketObject:
    key: str
    size: int
    etag: str  # as S3 lists it, quotes removed


@dataclass(frozen=True, slots=True)
class ParityRow:
    obj: BucketObject
    exchange: Exchange


def normalize_etag(value: str | None) -> str:
    return (value or "").strip().removeprefix("W/").strip('"')


def parity_problem(row: ParityRow) -> str | None:
    """What differs between the bucket object and the edge's answer, or None when they agree."""
    obj, ex = row.obj, row.exchange
    want = f"expected {obj.size} bytes, ETag {obj.etag}"
    if ex.status != 200:
        return f"{obj.key}: {want}; edge answered {ex.status_line}"
    length = ex.header("content-length") or ""
    size = len(ex.body) if ex.method == "GET" and not ex.body_truncated else int(length) if length.isdigit() else None
    etag = normalize_etag(ex.header("etag"))
    if not etag and ex.method == "GET" and "-" not in obj.etag:
        etag = hashlib.md5(ex.body).hexdigest()  # a single-part upload's ETag is the content MD5
    if not etag and size is None:
        return f"{obj.key}: {want}; edge answer has neither ETag nor Content-Length"
    if (size is not None and size != obj.size) or (etag and etag != obj.etag):
        shown = "?" if size is None else str(size)
        return f"{obj.key}: {want}; edge serves {shown} bytes, ETag {etag or '(none)'}"
    return None


def check_bucket_parity(rows: list[ParityRow], bucket: str) -> None:
    differing = [(row.exchange, problem) for row in rows if (problem := parity_problem(row))]
    raise_collected(BUCKET_PARITY, f"{len(rows)} sampled objects of s3://{bucket} served identically", differing,
                    len(rows), "sampled objects differ",
                    cause="the deploy did not finish uploading, or the edge still caches the previous objects "
                          "(create an invalidation for the changed paths)")
