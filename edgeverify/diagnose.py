"""The one place that knows CloudFront's, S3's and API Gateway's error signatures.

`likely_cause` turns a response into the misconfiguration a platform engineer would change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .exchange import Exchange

METHOD_NOT_ALLOWED = "This distribution is not configured to allow the HTTP request method"
API_PREFIX = "/api/"  # the conventional behavior path; targets with another prefix still read fine


def likely_cause(ex: Exchange, api_prefix: str = API_PREFIX) -> str | None:
    """The likely edge misconfiguration behind this response, or None if nothing is recognised."""
    path = urlsplit(ex.url).path or "/"
    behavior = f"{api_prefix}*" if path.startswith(api_prefix) else "the default behavior (*)"
    if ex.status is None:
        return _network_cause(ex)
    body = ex.text[:4000]
    x_cache = ex.x_cache.lower()
    if ex.status == 403 and METHOD_NOT_ALLOWED in body:
        return (f"the CloudFront behavior for {behavior} does not allow {ex.method}: add it to AllowedMethods "
                f"(GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE for an API)")
    if path.startswith(api_prefix) and "<Code>AccessDenied</Code>" in body:
        return (f"the request reached S3, not API Gateway: no behavior with PathPattern {api_prefix}* routes it to the "
                "API origin (check the behavior exists, its pattern, and its precedence over the default behavior)")
    if ex.status == 403 and "<Code>AccessDenied</Code>" in body:
        return ("S3 denied the key: the object is missing (S3 answers 403, not 404, when the bucket policy lacks "
                "s3:ListBucket) or the distribution's OAC is not allowed by the bucket policy; check the deploy "
                "uploaded it")
    if "<Code>NoSuchKey</Code>" in body:
        return "the object is missing from the S3 bucket: the deploy did not upload it"
    if '"Missing Authentication Token"' in body:
        return ("API Gateway has no such route or stage: often the origin path and the behavior path double up "
                "(/prod/api/...); check the API origin's OriginPath and the stage name")
    payload = ex.json() if ex.content_type == "application/json" else None
    if ex.status == 403 and isinstance(payload, dict) and payload.get("message") == "Forbidden":
        return ("API Gateway refused the request: an API key or WAF rule, or the viewer Host header forwarded to "
                "API Gateway (use the AllViewerExceptHostHeader origin request policy)")
    if ex.status in (502, 503, 504) and "error from cloudfront" in x_cache:
        return (f"the origin behind {behavior} failed or timed out ({ex.status}, X-Cache: Error from cloudfront): "
                "check the origin's domain, protocol policy and health")
    if path.startswith(api_prefix) and ex.content_type == "text/html":
        return ("the SPA's custom error response (403/404 -> /index.html, 200) also applies to the API: "
                "CloudFront error pages are distribution-wide, so API errors are swallowed; route SPA fallbacks "
                "with a viewer-request function on the default behavior instead")
    if _looks_like_asset(path) and ex.status == 200 and ex.content_type == "text/html":
        return ("the SPA fallback page stands in for a missing object: a custom error response turns S3's 403/404 "
                "into /index.html; upload the file, or rewrite only extension-less paths")
    return None


def _network_cause(ex: Exchange) -> str | None:
    error = (ex.error or "").lower()
    if "certificate" in error or "tls" in error:
        return ("the certificate does not verify for this domain: check the distribution's ViewerCertificate "
                "(ACM certificate in us-east-1 covering the domain) and the CA bundle")
    if "refused" in error:
        return "nothing listens there: check DNS / --connect-to and that the distribution is enabled"
    if "time bound" in error or "read bound" in error:
        return "the edge or origin is too slow: check the origin's response timeout and health"
    return None


def _looks_like_asset(path: str) -> bool:
    last = path.rsplit("/", 1)[-1]
    return "." in last and not last.endswith((".html", ".htm"))
