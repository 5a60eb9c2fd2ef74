"""config: the CloudFront distribution's own configuration, audited from its DistributionConfig, and bucket parity.

Every check is a pure function over the DistributionConfig dict that boto3's get_distribution_config
returns (and, for parity, over bucket listings paired with edge exchanges). The suite does the I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
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
    # response headers policies (Developer Guide, "Use managed response headers policies")
    "67f7725c-6f97-4210-82d7-5512b31e9d03": "SecurityHeadersPolicy",
    "e61eb60c-9c35-4d20-a928-2b84e02af89c": "CORS-and-SecurityHeadersPolicy",
    "eaab4381-ed33-4a86-88ca-d9558dc6cd63": "CORS-with-preflight-and-SecurityHeadersPolicy",
    "60669652-455b-4ae9-85a4-c4c02393f86c": "SimpleCORS",
    "5cc3b908-e619-4b99-88e5-2cf7f45965bd": "CORS-With-Preflight",
}
SECURITY_HEADERS_POLICY = "67f7725c-6f97-4210-82d7-5512b31e9d03"
WITHOUT_SECURITY_HEADERS = {"60669652-455b-4ae9-85a4-c4c02393f86c", "5cc3b908-e619-4b99-88e5-2cf7f45965bd"}
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
ALIAS_CERTIFICATE = rule(
    "config.alias_certificate",
    "Every alias is named by the distribution's custom certificate",
    "An alias served with the default *.cloudfront.net certificate, or with a certificate whose names do not cover "
    "it, fails every browser's name check: https:// on that host is an error page. Request an ACM certificate in "
    "us-east-1 naming every alias (or a matching wildcard) and set ViewerCertificate.ACMCertificateArn.",
    "CloudFront Developer Guide, 'Requirements for using alternate domain names' and ViewerCertificate reference",
)
SHADOWED = rule(
    "config.shadowed_behaviors",
    "No cache behavior is unreachable behind an earlier, broader path pattern",
    "CloudFront tries cache behaviors in list order and uses the first pattern that matches, so a behavior listed "
    "after a pattern that covers all its paths (/api/submit after /api/*) never applies: its TTLs, methods and "
    "policies are dead settings. Move the more specific behavior above the broader one (or delete it).",
    "CloudFront Developer Guide, 'Cache behavior settings: Path pattern' (behaviors are evaluated in order)",
)
API_FORWARDING = rule(
    "config.api_forwarding",
    "The API behavior forwards cookies and Authorization without caching on them (no legacy ForwardedValues)",
    "Legacy ForwardedValues put everything they forward into the cache key: forwarding all cookies makes every "
    "cookie value its own cache entry (nearly every request reaches the API, and with the legacy default TTL of "
    "86400 s a cookie-bound answer is replayed to whoever sends that cookie); forwarding all headers sends the "
    "viewer's Host, which API Gateway refuses; and without Authorization in the list CloudFront strips it from GET "
    "and HEAD requests. Replace ForwardedValues with the managed CachingDisabled cache policy and the "
    "AllViewerExceptHostHeader origin request policy.",
    "CloudFront Developer Guide, 'Caching content based on cookies' / 'HTTP 401 status code (Unauthorized)'; "
    "AWS knowledge center 'cloudfront-authorization-header'",
)
ERROR_RESPONSES = rule(
    "config.error_responses_swallow_api",
    "No distribution-wide 403/404 custom error response rewrites API errors into the app shell",
    "Custom error responses apply to every behavior: mapping 403/404 to /index.html for SPA routing also turns "
    "the API's own 403/404 JSON into 200 HTML, so clients cannot see the error. Route deep links with a "
    "viewer-request CloudFront Function on the default behavior instead, and remove the custom error responses. "
    "A failure when the target declares an API; advisory when only other non-S3 origins are affected.",
    "edge-rules.md 'spa' (the pitfall users hit most); aws-samples/cloudfront-authorization-at-edge #25",
)
RESPONSE_HEADERS_POLICY = rule(
    "config.response_headers_policy",
    "Every behavior has a response headers policy that adds the security headers",
    "CloudFront adds security headers (HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy, a CSP) only "
    "through the response headers policy attached to each cache behavior: a policy on the default behavior does "
    "nothing for /api/* or /assets/*. Attach SecurityHeadersPolicy (or a custom policy with those headers and a "
    "ContentSecurityPolicy) to every behavior.",
    "CloudFront Developer Guide, 'Use managed response headers policies'; the security suite's rules",
)
ERROR_CACHING_TTL = rule(
    "config.error_caching_ttl",
    "403/404 answers are cached at most the default 10 s (ErrorCachingMinTTL)",
    "Right after a deploy, a viewer (or an open tab of the previous release) may ask for an asset before it is "
    "uploaded; CloudFront caches that 403/404 for ErrorCachingMinTTL, so everyone gets the error for that long "
    "after the asset exists. Keep ErrorCachingMinTTL at 10 s or below on the 403 and 404 custom error responses.",
    "CloudFront Developer Guide, 'Control how long CloudFront caches errors' (default 10 s)",
    severity="advisory",
    threshold="10 s",
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


def all_behaviors(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, behavior) pairs: every cache behavior in order, then the default as 'Default (*)'."""
    named = [(str(b.get("PathPattern", "")), b) for b in _items(config.get("CacheBehaviors"))]
    return named + [(DEFAULT_BEHAVIOR, dict(config.get("DefaultCacheBehavior") or {}))]


@lru_cache(maxsize=4096)
def pattern_covers(general: str, specific: str) -> bool:
    """True when every path `specific` matches is matched by `general` too (CloudFront patterns: '*', '?').

    Sound, not complete: a True is always right; a few exotic equal-language pairs (e.g. '?*' and '*?') give False.
    """
    g, s = "/" + general.lstrip("/"), "/" + specific.lstrip("/")

    @lru_cache(maxsize=None)
    def match(i: int, j: int) -> bool:
        if i == len(g):
            return j == len(s)
        if g[i] == "*":  # any run of the specific pattern's characters, wildcards included
            return match(i + 1, j) or (j < len(s) and match(i, j + 1))
        if j == len(s) or s[j] == "*":
            return False
        if g[i] == "?":
            return match(i + 1, j + 1)
        return g[i] == s[j] and match(i + 1, j + 1)

    return match(0, 0)


def shadowed(config: Mapping[str, Any]) -> list[tuple[int, str, str]]:
    """(position, pattern, the earlier pattern covering it) of every cache behavior that can never match."""
    patterns = [name for name, _ in all_behaviors(config)[:-1]]
    found = []
    for i, pattern in enumerate(patterns):
        for earlier in patterns[:i]:
            if pattern_covers(earlier, pattern):
                found.append((i, pattern, earlier))
                break
    return found


def behaviors(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The behaviors a request can reach, in order, then the default: shadowed ones are left out."""
    dead = {i for i, _, _ in shadowed(config)}
    return [pair for i, pair in enumerate(all_behaviors(config)) if i not in dead]


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
    """Reachable behaviors whose origin is API Gateway (execute-api)."""
    return [(n, b) for n, b in behaviors(config) if is_api_origin(origin_of(config, b))]


def static_behaviors(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(n, b) for n, b in behaviors(config) if s3_bucket(origin_of(config, b))]


def behavior_for(config: Mapping[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    """The behavior CloudFront picks for a path: the first matching PathPattern, else the default."""
    for name, behavior in all_behaviors(config)[:-1]:
        if _path_matches(name, path):
            return name, behavior
    return all_behaviors(config)[-1]


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
    """The aws CLI line showing the configuration a finding is about; `query` is rooted at the DistributionConfig."""
    return f"aws cloudfront get-distribution-config --id {distribution_id} --query '{query_path(query)}'"


def query_path(query: str) -> str:
    """A DistributionConfig-relative JMESPath made absolute for get-distribution-config's output."""
    return f"DistributionConfig.{query}"


def _fail(rule_: Any, expected: str, problems: list[str], cause: str, distribution_id: str, query: str) -> None:
    if problems:
        raise Violation(rule_, expected, "; ".join(problems), cause=cause,
                        reproduce=reproduce(distribution_id, query))


def _behaviors_query(field: str) -> str:
    return f"{{Default: DefaultCacheBehavior.{field}, Behaviors: CacheBehaviors.Items[].[PathPattern, {field}]}}"


# ---- checks ---------------------------------------------------------------------------------------------------


def check_viewer_protocol(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = [f"behavior '{n}' ViewerProtocolPolicy {b.get('ViewerProtocolPolicy') or '(unset)'}"
                for n, b in behaviors(config)
                if b.get("ViewerProtocolPolicy") not in ("redirect-to-https", "https-only")]
    _fail(VIEWER_PROTOCOL, "redirect-to-https or https-only on every behavior", problems,
          "the behavior was created with allow-all (the CloudFormation default when omitted is not HTTPS-only)",
          distribution_id, _behaviors_query("ViewerProtocolPolicy"))


def check_compress(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = [f"behavior '{n}' Compress {str(b.get('Compress', False)).lower()}"
                for n, b in behaviors(config) if not b.get("Compress")]
    _fail(COMPRESS, "Compress: true on every behavior", problems,
          "Compress defaults to false in CloudFormation and the API unless set", distribution_id,
          _behaviors_query("Compress"))


def check_shadowed_behaviors(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = []
    for i, pattern, earlier in shadowed(config):
        behavior = all_behaviors(config)[i][1]
        settings = [f"AllowedMethods {', '.join(allowed_methods(behavior))}"]
        if not behavior.get("CachePolicyId"):
            settings.append(f"TTLs min/default/max {'/'.join(map(str, _ttls(behavior)))}")
        problems.append(f"behavior '{pattern}' (position {i + 1}) can never match: the earlier '{earlier}' covers "
                        f"every path it matches, so its settings ({', '.join(settings)}) never apply")
    _fail(SHADOWED, "each cache behavior listed before any broader pattern that covers it", problems,
          "the specific behavior was appended after the broader one (CloudFormation keeps the list order)",
          distribution_id, "CacheBehaviors.Items[].PathPattern")


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
          "the API behavior copied the static behavior's cache policy, or kept the legacy default TTLs "
          "(0/86400/31536000)", distribution_id,
          "CacheBehaviors.Items[].[PathPattern, CachePolicyId, MinTTL, DefaultTTL, MaxTTL]")


def _legacy_forwarding(behavior: Mapping[str, Any]) -> str:
    """What legacy ForwardedValues forward, in words."""
    fv = behavior.get("ForwardedValues") or {}
    cookies = (fv.get("Cookies") or {}).get("Forward") or "none"
    if cookies == "whitelist":
        cookies = "whitelist " + ", ".join(_items((fv.get("Cookies") or {}).get("WhitelistedNames")))
    headers = _items(fv.get("Headers"))
    return (f"cookies {cookies}, query strings {'forwarded' if fv.get('QueryString') else 'dropped'}, "
            f"headers {'all (*)' if '*' in headers else ', '.join(headers) or 'none'}")


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
        host = ", forwarding the Host header" if "host" in headers or "*" in headers else ""
        legacy = f"legacy ForwardedValues: {_legacy_forwarding(behavior)}{host}" \
            if behavior.get("ForwardedValues") else "and no legacy ForwardedValues"
        problems.append(f"behavior '{name}' has no origin request policy ({legacy})")
    _fail(API_ORIGIN_REQUEST_POLICY, f"AllViewerExceptHostHeader ({ALL_VIEWER_EXCEPT_HOST}) on the API behavior",
          problems, "the behavior forwards the viewer's Host (AllViewer, legacy forwarding of all headers) or "
          "forwards through legacy settings that also decide the cache key", distribution_id,
          "CacheBehaviors.Items[].[PathPattern, OriginRequestPolicyId, ForwardedValues]")


def check_api_forwarding(config: Mapping[str, Any], distribution_id: str,
                         cache_policies: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Cookies, Authorization and all-headers forwarding to the API origin: cache key and origin load."""
    problems = []
    for name, behavior in api_behaviors(config):
        policy_id = behavior.get("CachePolicyId") or ""
        ttls = "/".join(map(str, _ttls(behavior)))
        if not policy_id and behavior.get("ForwardedValues") is not None:
            fv = behavior["ForwardedValues"]
            cookies = (fv.get("Cookies") or {}).get("Forward") or "none"
            headers = [h.lower() for h in _items(fv.get("Headers"))]
            caches = _ttls(behavior) != (0, 0, 0) and "*" not in headers
            if cookies in ("all", "whitelist") and "*" not in headers:
                problems.append(
                    f"behavior '{name}' puts cookies ({cookies}) in the cache key (legacy ForwardedValues)" +
                    (f" while caching with TTLs min/default/max {ttls}: each distinct Cookie header is its own "
                     "cache entry, so nearly every request reaches the API, and a cookie-bound answer is replayed to "
                     "anyone sending the same cookies" if caches else ""))
            if "*" in headers:
                problems.append(f"behavior '{name}' forwards all viewer headers (legacy Headers '*'): the viewer's "
                                "Host reaches API Gateway, which answers {\"message\":\"Forbidden\"}")
            elif "authorization" in headers:
                if caches:
                    problems.append(f"behavior '{name}' caches per Authorization token (legacy Headers) with TTLs "
                                    f"min/default/max {ttls}")
            else:
                problems.append(f"behavior '{name}' does not forward Authorization: CloudFront removes it from GET "
                                "and HEAD requests unless it is in the cache key, so the API receives those requests without credentials")
        elif policy_id and policy_id not in MANAGED_POLICIES:
            policy = (cache_policies or {}).get(policy_id)
            if policy is None:
                continue
            params = policy.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
            cookies = (params.get("CookiesConfig") or {}).get("CookieBehavior") or "none"
            if cookies != "none" and _ttls(policy)[1:] != (0, 0):
                problems.append(f"behavior '{name}' cache policy {policy_id} puts cookies ({cookies}) in the cache "
                                f"key while caching with TTLs min/default/max {'/'.join(map(str, _ttls(policy)))}")
    _fail(API_FORWARDING, f"the API behavior on CachingDisabled ({CACHING_DISABLED}) with AllViewerExceptHostHeader "
          f"({ALL_VIEWER_EXCEPT_HOST}): cookies and Authorization forwarded, nothing cached", problems,
          "legacy ForwardedValues copied from an example (Cookies: Forward: all) instead of cache and origin request "
          "policies", distribution_id, "CacheBehaviors.Items[].[PathPattern, ForwardedValues, CachePolicyId, "
          "MinTTL, DefaultTTL, MaxTTL]")


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


def uses_default_certificate(config: Mapping[str, Any]) -> bool:
    """True unless an ACM or IAM certificate is attached (CloudFront returns exactly one of the three)."""
    cert = config.get("ViewerCertificate") or {}
    return not (cert.get("ACMCertificateArn") or cert.get("IAMCertificateId"))


def check_tls_policy(config: Mapping[str, Any], distribution_id: str) -> None:
    cert = config.get("ViewerCertificate") or {}
    version = cert.get("MinimumProtocolVersion") or "(unset)"
    actual = ("the default *.cloudfront.net certificate (its policy is TLSv1 and cannot be raised)"
              if uses_default_certificate(config) else f"MinimumProtocolVersion {version}")
    problems = [] if not uses_default_certificate(config) and version in MODERN_TLS else [actual]
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


def check_alias_certificate(config: Mapping[str, Any], distribution_id: str,
                            certificate_names: list[str] | None = None) -> None:
    """`certificate_names`: the custom certificate's domain name and SANs, when they could be read (ACM)."""
    aliases = [str(a) for a in _items(config.get("Aliases"))]
    if not aliases:
        return
    if uses_default_certificate(config):
        problems = [f"Aliases {', '.join(aliases)} are served with the default *.cloudfront.net certificate, "
                    "which names none of them"]
        cause = "the distribution was created without a ViewerCertificate (CloudFrontDefaultCertificate: true)"
    elif certificate_names is None:
        return  # the custom certificate could not be read: the suite says so
    else:
        uncovered = [a for a in aliases if not any(alias_covers(name, a) for name in certificate_names)]
        problems = [f"alias {a} is not named by the certificate (names: {', '.join(certificate_names) or 'none'})"
                    for a in uncovered]
        cause = "an alias was added after the certificate was requested"
    _fail(ALIAS_CERTIFICATE, "every alias covered by the custom certificate's names", problems, cause,
          distribution_id, "[Aliases.Items, ViewerCertificate]")


def check_response_headers_policy(config: Mapping[str, Any], distribution_id: str) -> None:
    problems = []
    for name, b in behaviors(config):
        policy = b.get("ResponseHeadersPolicyId")
        if not policy:
            problems.append(f"behavior '{name}' has no response headers policy")
        elif policy in WITHOUT_SECURITY_HEADERS:
            problems.append(f"behavior '{name}' response headers policy {policy_name(policy)} adds CORS headers only")
    _fail(RESPONSE_HEADERS_POLICY, "a response headers policy with the security headers on every behavior", problems,
          f"no ResponseHeadersPolicyId on these behaviors: attach {policy_name(SECURITY_HEADERS_POLICY)} or a custom "
          "policy with SecurityHeadersConfig (and a ContentSecurityPolicy) to each", distribution_id,
          _behaviors_query("ResponseHeadersPolicyId"))


def check_error_caching_ttl(config: Mapping[str, Any], distribution_id: str, limit: int = 10) -> None:
    problems = [f"CustomErrorResponses {r.get('ErrorCode')} ErrorCachingMinTTL {r.get('ErrorCachingMinTTL')} s"
                for r in _items(config.get("CustomErrorResponses"))
                if int(r.get("ErrorCode") or 0) in (403, 404) and int(r.get("ErrorCachingMinTTL") or 10) > limit]
    _fail(ERROR_CACHING_TTL, f"ErrorCachingMinTTL at most {limit} s for 403 and 404", problems,
          "the custom error response was given a long error caching TTL: a just-deployed asset keeps its cached "
          "403/404 that long; lower ErrorCachingMinTTL to 10 or less", distribution_id,
          "CustomErrorResponses.Items[].[ErrorCode, ErrorCachingMinTTL]")


def with_severity(rule_: Any, severity: str) -> Any:
    """The same rule at another severity, for a finding whose weight depends on the target."""
    return rule_ if rule_.severity == severity else dataclasses.replace(rule_, severity=severity)


def check_error_responses(config: Mapping[str, Any], distribution_id: str,
                          calls: Iterable[tuple[str, str]] = ()) -> None:
    """A failure when an API is declared (an execute-api behavior, or `calls` the target declares); advisory when
    only other non-S3 origins' errors are rewritten."""
    swallowing = [f"{r.get('ErrorCode')} -> {r.get('ResponsePagePath')} ({r.get('ResponseCode') or 'same code'})"
                  for r in _items(config.get("CustomErrorResponses"))
                  if int(r.get("ErrorCode") or 0) in (403, 404) and r.get("ResponsePagePath")]
    if not swallowing:
        return
    apis = [n for n, _ in api_behaviors(config)]
    routed = sorted({f"{m.upper()} {p}" for m, p in calls})
    others = [n for n, b in behaviors(config) if n not in apis and not s3_bucket(origin_of(config, b))
              and origin_of(config, b)]
    if apis or routed:
        where = [f"API behavior '{', '.join(apis)}'"] if apis else []
        where += [f"the declared calls {', '.join(routed[:5])}"] if routed else []
        severity, affected = "fail", " and ".join(where)
    elif others:
        severity, affected = "advisory", f"behavior '{', '.join(others)}' (a non-S3 origin)"
    else:
        return  # a site with only S3 origins: the error pages are its SPA routing
    _fail(with_severity(ERROR_RESPONSES, severity), "no 403/404 custom error response while an API behavior exists",
          [f"CustomErrorResponses {', '.join(swallowing)} also apply to {affected}"],
          "SPA routing done with distribution-wide error pages", distribution_id, "CustomErrorResponses")


def audit(config: Mapping[str, Any], distribution_id: str, domain: str, distribution_domain: str | None = None,
          calls: Iterable[tuple[str, str]] = (), cache_policies: Mapping[str, Mapping[str, Any]] | None = None,
          certificate_names: list[str] | None = None) -> list[Violation]:
    """Every finding of the configuration checks, with what the caller could read of custom cache policies and
    the ACM certificate's names: what `discover` notes."""
    calls = list(calls)
    checks = [
        lambda: check_shadowed_behaviors(config, distribution_id),
        lambda: check_viewer_protocol(config, distribution_id),
        lambda: check_compress(config, distribution_id),
        lambda: check_api_methods(config, distribution_id, calls),
        lambda: check_api_cache_disabled(config, distribution_id, cache_policies),
        lambda: check_api_origin_request_policy(config, distribution_id),
        lambda: check_api_forwarding(config, distribution_id, cache_policies),
        lambda: check_static_cache_policy(config, distribution_id, cache_policies),
        lambda: check_s3_oac(config, distribution_id),
        lambda: check_tls_policy(config, distribution_id),
        lambda: check_aliases(config, distribution_id, domain, distribution_domain),
        lambda: check_alias_certificate(config, distribution_id, certificate_names),
        lambda: check_error_responses(config, distribution_id, calls),
        lambda: check_response_headers_policy(config, distribution_id),
        lambda: check_error_caching_ttl(config, distribution_id),
    ]
    found = []
    for check in checks:
        try:
            check()
        except Violation as violation:
            found.append(violation)
    return found


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


UNREACHABLE_SHARE = 0.8  # this share of answers missing means the edge, not the objects, is the problem


def normalize_etag(value: str | None) -> str:
    return (value or "").strip().removeprefix("W/").strip('"')


def parity_scope(checked: int, total: int) -> str:
    """'checked N of M objects', saying when it was a sample."""
    sampled = " (a sample: the bucket holds more than aws.parity_max_objects)" if checked < total else ""
    return f"checked {checked} of {total} objects{sampled}"


def parity_problem(row: ParityRow) -> str | None:
    """What differs between the bucket object and the edge's answer (size and ETag both sides), or None."""
    obj, ex = row.obj, row.exchange
    bucket = f"bucket {obj.size} bytes, ETag {obj.etag}"
    if ex.status is None:
        return f"{obj.key}: {bucket}; edge gave no answer ({ex.error})"
    if ex.status != 200:
        missing = " (missing at the edge)" if ex.status in (403, 404) else ""
        return f"{obj.key}: {bucket}; edge answered {ex.status_line}{missing}"
    length = ex.header("content-length") or ""
    size = ex.size if ex.method == "GET" and not ex.body_truncated else int(length) if length.isdigit() else None
    etag = normalize_etag(ex.header("etag"))
    if not etag and ex.method == "GET" and "-" not in obj.etag:
        etag = hashlib.md5(ex.body).hexdigest()  # a single-part upload's ETag is the content MD5
    if not etag and size is None:
        return f"{obj.key}: {bucket}; edge answer has neither ETag nor Content-Length"
    if (size is not None and size != obj.size) or (etag and etag != obj.etag):
        shown = "?" if size is None else str(size)
        return f"{obj.key}: {bucket}; edge {shown} bytes, ETag {etag or '(none)'}"
    return None


def check_bucket_parity(rows: list[ParityRow], bucket: str, total: int | None = None,
                        planned: int | None = None) -> None:
    """`total`: objects the prefix holds; `planned`: objects chosen to check (rows may stop short when the edge
    proved unreachable)."""
    planned = len(rows) if planned is None else planned
    total = planned if total is None else total
    expected = f"the {planned} checked of {total} objects of s3://{bucket} served with the bucket's size and ETag"
    silent = [row.exchange for row in rows if row.exchange.status is None]
    if rows and len(silent) >= max(1.0, UNREACHABLE_SHARE * len(rows)):
        skipped = f"; the other {planned - len(rows)} were not sent" if planned > len(rows) else ""
        raise Violation(BUCKET_PARITY, expected,
                        f"could not reach the edge: {silent[0].error} ({len(silent)} of {len(rows)} requests got no "
                        f"answer{skipped}); no object was compared", silent[0],
                        cause="the edge address, port or TLS settings (connect_to, ca_bundle) do not reach the "
                              "distribution, or it is down: the bucket itself was not judged")
    differing = [(row.exchange, problem) for row in rows if (problem := parity_problem(row))]
    missing = all("missing at the edge" in p for _, p in differing)
    raise_collected(BUCKET_PARITY, expected, differing, len(rows), "checked objects differ",
                    cause="the deploy did not finish uploading, or the objects were deleted from the bucket's "
                          "served prefix" if missing else
                          "the deploy did not finish uploading, or the edge still caches the previous objects "
                          "(create an invalidation for the changed paths)")
