"""security.origin_direct: the origins behind CloudFront refuse whoever asks them directly.

A distribution in front of a public bucket, an S3 website endpoint or an open execute-api URL protects nothing:
anyone can fetch the files and call the API around it (no WAF, no geo restriction, no security headers, no
logs at the edge). The check asks each origin endpoint the target names (or the distribution's) for what the
edge serves: the entry document, one asset, one API call. An origin that answers with that content is public;
one that refuses answers S3's AccessDenied XML (REST endpoint behind OAC), the website endpoint's 403/404 page,
or API Gateway's {"message":"Forbidden"}. Refusal and content are told apart by content (the same bytes as the
edge's answer, a 2xx body that is no AWS error), not by status alone: a website endpoint's error document
answers the app shell with 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..exchange import Exchange
from . import raise_collected, rule

ORIGIN_DIRECT = rule(
    "security.origin_direct",
    "The origins (S3 bucket, S3 website endpoint, execute-api URL) refuse requests that do not come through "
    "CloudFront",
    "An origin that answers anyone makes the CDN optional: the files and the API are reachable around it, without "
    "the WAF, geo restriction, security headers or edge logs. Keep the bucket private (Block Public Access on, a "
    "bucket policy allowing only cloudfront.amazonaws.com with aws:SourceArn of the distribution, through OAC), do "
    "not serve it from the website endpoint, and make the API refuse callers without CloudFront's secret origin "
    "header (OriginCustomHeaders) or disable its execute-api endpoint when CloudFront reaches a custom domain.",
    "CloudFront Developer Guide 'Restricting access to an Amazon S3 origin' and 'Adding custom headers to origin "
    "requests'; API Gateway Developer Guide 'Disable the default endpoint for REST APIs'; S3 'Blocking public access'",
    threshold="the entry document and one asset at origins.bucket and origins.website, one GET API call at "
              "origins.api (or the distribution's origins)",
)

KINDS = {"bucket": "S3 REST endpoint", "website": "S3 website endpoint", "api": "execute-api URL"}


@dataclass(frozen=True, slots=True)
class Probe:
    """One direct request to an origin endpoint and the edge's answer for the same thing."""

    kind: str  # bucket | website | api
    what: str  # "entry document", "asset /assets/app.js", "API call GET /api/health"
    direct: Exchange
    edge: Exchange | None


def direct_url(kind: str, base: str, path: str) -> str:
    """The URL at the origin endpoint `base` for the viewer path `path` (the origin path, e.g. the stage, is in
    base). The REST endpoint has no index document: a directory path gets the DefaultRootObject's key."""
    if kind == "bucket" and (path.split("?", 1)[0].endswith("/")):
        head, _, query = path.partition("?")
        path = head + "index.html" + (f"?{query}" if query else "")
    return base.rstrip("/") + path


_S3_CODE = re.compile(r"<Code>\s*([A-Za-z]+)\s*</Code>")
_WEBSITE_CODE = re.compile(r"^\s*(?:<li>)?\s*Code:\s*([A-Za-z]+)", re.M)  # a line of the website endpoint's page


def refusal(ex: Exchange) -> str | None:
    """The AWS refusal this answer is, told by its body; None when it is not one.

    S3 REST: <Error><Code>AccessDenied</Code>... (tests/data/corpus/s3.yaml); the website endpoint: an HTML page
    "<h1>403 Forbidden</h1><ul><li>Code: AccessDenied</li>..." (ACloudGuru/automating-aws-with-python#1,
    rufuspollock/s3-bucket-listing#112); API Gateway: {"message":"Forbidden"} or "Missing Authentication Token",
    or a resource policy's {"Message":"User: anonymous is not authorized ..."} (tests/data/corpus/apigateway.yaml).
    """
    if ex.status is None or 200 <= ex.status < 300:
        return None
    text = ex.text_start(4096)
    m = _S3_CODE.search(text) if "<Error>" in text else None
    if m:
        return f"S3 {m.group(1)}"
    m = _WEBSITE_CODE.search(text)
    if m:
        return f"S3 website {m.group(1)}"
    try:
        doc = json.loads(text) if text.lstrip().startswith("{") else None
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        message = doc.get("message") or doc.get("Message")
        if isinstance(message, str) and (message in ("Forbidden", "Missing Authentication Token", "Unauthorized")
                                         or "is not authorized to perform: execute-api:Invoke" in message):
            return f"API Gateway {message}"
    return None


def _same(ex: Exchange, edge: Exchange | None) -> bool:
    """Whether the direct answer carries the edge's 2xx body: the same bytes, or (an asset body, counted but not
    kept) the same size and ETag."""
    if edge is None or edge.status is None or not 200 <= edge.status < 300 or not edge.size:
        return False
    if ex.body_kept and edge.body_kept:
        return bool(ex.body) and ex.body == edge.body
    tags = (ex.header("etag"), edge.header("etag"))
    return ex.size == edge.size and (tags[0] == tags[1] or None in tags)


def content(probe: Probe) -> str | None:
    """Why the direct answer is the site's content (what the check exists to catch); None when it is not."""
    ex = probe.direct
    if ex.status is None or refusal(ex) is not None or not ex.size:
        return None
    if _same(ex, probe.edge):
        return f"the same {ex.size:,} bytes the edge serves" + ("" if 200 <= ex.status < 300 else
                                                                f" (with status {ex.status})")
    if 200 <= ex.status < 300:
        return f"{ex.size:,} bytes of {ex.content_type or 'untyped'} content"
    return None


def fix(kind: str, url: str) -> str:
    """What to change for a public origin of this kind (names the AWS settings)."""
    host = re.sub(r"^https?://", "", url).split("/", 1)[0]
    if kind == "bucket":
        bucket = host.split(".s3", 1)[0] if ".s3" in host else "BUCKET"
        return (f"the bucket answers anyone: turn S3 Block Public Access on (aws s3api put-public-access-block "
                f"--bucket {bucket} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,"
                f"BlockPublicPolicy=true,RestrictPublicBuckets=true) and replace the public bucket policy with one "
                f"allowing s3:GetObject only to the service principal cloudfront.amazonaws.com with the condition "
                f"aws:SourceArn = the distribution's ARN (Origin Access Control on the distribution's S3 origin)")
    if kind == "website":
        bucket = host.split(".s3-website", 1)[0]
        return (f"the bucket's website endpoint serves the site: make the distribution's origin the REST endpoint "
                f"{bucket}.s3.<region>.amazonaws.com with Origin Access Control, turn website hosting off (aws s3api "
                f"delete-bucket-website --bucket {bucket}) and Block Public Access on")
    api_id = host.split(".", 1)[0]
    return (f"the execute-api URL answers without CloudFront: when CloudFront reaches the API by a custom domain, "
            f"set DisableExecuteApiEndpoint (aws apigateway update-rest-api --rest-api-id {api_id} --patch-operations "
            f"op=replace,path=/disableExecuteApiEndpoint,value=True, then redeploy the stage); when it reaches the "
            f"execute-api host itself, give the origin a secret custom header (CloudFront OriginCustomHeaders, e.g. "
            f"X-Origin-Verify) and refuse requests without it (a Lambda authorizer or the function, or an AWS WAF rule "
            f"on the stage), or restrict a resource policy to CloudFront's origin-facing addresses")


def check_origin_direct(probes: Sequence[Probe], endpoints: Mapping[str, str]) -> None:
    """Every direct request refuses (or answers something that is not the site's content)."""
    problems: list[tuple[Exchange | None, str, str]] = []
    for p in probes:
        found = content(p)
        if found is not None:
            problems.append((p.direct, f"{KINDS[p.kind]} {p.what}: GET {p.direct.url} -> {p.direct.status_line}, "
                                       f"{found}", fix(p.kind, endpoints[p.kind])))
    raise_collected(ORIGIN_DIRECT, _EXPECTED, problems, len(probes), "direct requests", diagnose=False)


_EXPECTED = ("a refusal from each origin asked directly (S3 403 AccessDenied, the website endpoint's 403/404 page, "
             "API Gateway 403 {\"message\":\"Forbidden\"}), never the content the edge serves")


def refusals(probes: Sequence[Probe]) -> list[tuple[str, str]]:
    """(endpoint kind, how each answer refused) for the report of a passing check."""
    found: dict[str, list[str]] = {}
    for p in probes:
        ex = p.direct
        found.setdefault(KINDS[p.kind], []).append(f"{p.what}: {ex.status_line}"
                                                   + (f" ({r})" if (r := refusal(ex)) else ""))
    return [(kind, "; ".join(items)) for kind, items in found.items()]


def distribution_endpoints(config: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, origins.* URL, origin id) of the origin endpoints a DistributionConfig names, the first of each kind:
    the S3 REST endpoint over https, the website endpoint over http (it speaks nothing else), execute-api over
    https, each with its OriginPath."""
    from ..target import origin_kind

    found: dict[str, tuple[str, str, str]] = {}
    for origin in (config.get("Origins") or {}).get("Items") or []:
        host = str(origin.get("DomainName") or "").lower()
        kind = origin_kind(host)
        if kind and kind not in found:
            scheme = "http" if kind == "website" else "https"
            found[kind] = (kind, f"{scheme}://{host}{str(origin.get('OriginPath') or '').rstrip('/')}",
                           str(origin.get("Id") or ""))
    return list(found.values())


def endpoints_of_distribution(config: Mapping[str, Any]) -> dict[str, str]:
    """kind -> URL of the distribution's origin endpoints (see distribution_endpoints)."""
    return {kind: url for kind, url, _ in distribution_endpoints(config)}
