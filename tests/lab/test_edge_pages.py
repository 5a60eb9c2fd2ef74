"""The lab speaks CloudFront: its own error answers are CloudFront's page with CloudFront's headers, its API
origin answers like API Gateway (REST and HTTP API), and diagnose names each of these answers right."""
from __future__ import annotations

import re

import pytest
import urllib3

from edgeverify.diagnose import diagnose
from edgeverify.exchange import Exchange
from edgeverify.lab import DOMAIN, Edge, Lab


def fetch(edge: Edge, method: str, path: str) -> Exchange:
    """One request to the edge as www.example.test, kept as an Exchange for diagnose()."""
    port = int(edge.connect_to[0].rsplit(":", 1)[1])
    with urllib3.HTTPSConnectionPool("127.0.0.1", port, server_hostname=DOMAIN, assert_hostname=DOMAIN,
                                     ca_certs=edge.ca_bundle, cert_reqs="CERT_REQUIRED", retries=False,
                                     timeout=10.0) as pool:
        r = pool.request(method, path, headers={"Host": DOMAIN}, body=b"{}" if method == "POST" else None,
                         redirect=False)
    return Exchange(method, f"https://{DOMAIN}{path}", status=r.status, headers=list(r.headers.items()),
                    body=r.data)


# fault, request, status, X-Cache, reason sentence of the page, signature diagnose must name
EDGE_PAGES = [
    ("post-not-allowed", "POST", "/api/echo", 403, "Error", "not configured to allow the HTTP request method",
     "cloudfront.method_not_allowed"),
    ("api-origin-down", "GET", "/api/health", 502, "Error", "CloudFront wasn't able to connect to the origin.",
     "cloudfront.origin_connect"),
    ("api-origin-timeout", "GET", "/api/health", 504, "Error", "either the attempt failed or the origin closed",
     "cloudfront.origin_timeout"),
    ("lambda-edge-error", "GET", "/api/health", 503, "LambdaExecutionError",
     "The Lambda function associated with the CloudFront distribution is invalid", "cloudfront.lambda_execution"),
    ("waf-blocks-api", "POST", "/api/echo", 403, "Error", "Request blocked.", "waf.blocked"),
    ("geo-blocked", "GET", "/", 403, "Error", "configured to block access from your country", "cloudfront.geo_blocked"),
]


@pytest.mark.parametrize("fault, method, path, status, kind, reason, signature", EDGE_PAGES,
                         ids=[row[0] for row in EDGE_PAGES])
def test_edge_answers_with_cloudfronts_page(lab: Lab, fault, method, path, status, kind, reason, signature):
    ex = fetch(lab.edge([fault]), method, path)
    assert ex.status == status
    assert ex.header("server") == "CloudFront" and ex.content_type == "text/html"
    assert ex.x_cache == f"{kind} from cloudfront"
    assert re.fullmatch(r"1\.1 [0-9a-f]{32}\.cloudfront\.net \(CloudFront\)", ex.header("via") or "")
    assert ex.header("x-amz-cf-pop") and ex.header("x-amz-cf-id")
    body = ex.text
    assert "<TITLE>ERROR: The request could not be satisfied</TITLE>" in body and f"<H1>{status} ERROR</H1>" in body
    assert reason in body
    assert f"Request ID: {ex.header('x-amz-cf-id')}" in body  # the page names the request, as CloudFront's does
    found = diagnose(ex)
    assert found is not None and found.signature_id == signature, found


# fault, request, status, the API Gateway headers present, signature
GATEWAY = [
    (None, "GET", "/api/missing", 404, ("x-amzn-RequestId", "x-amz-apigw-id"), "apigw.not_found"),
    ("api-origin-path-doubled", "POST", "/api/echo", 403, ("x-amzn-RequestId", "x-amzn-ErrorType"),
     "apigw.missing_token"),
    ("api-host-forwarded", "GET", "/api/health", 403, ("x-amzn-RequestId", "x-amzn-ErrorType"), "apigw.forbidden"),
    ("apigw-throttled", "GET", "/api/health", 429, ("x-amzn-RequestId", "x-amzn-ErrorType"), "apigw.throttled"),
    ("apigw-timeout", "GET", "/api/health", 504, ("x-amzn-RequestId", "x-amz-apigw-id"), "apigw.timeout"),
    ("apigw-http-timeout", "GET", "/api/health", 503, ("apigw-requestid",), "apigw.http_unavailable"),
]


@pytest.mark.parametrize("fault, method, path, status, headers, signature", GATEWAY,
                         ids=[row[0] or "unknown-route" for row in GATEWAY])
def test_api_origin_answers_like_api_gateway(lab: Lab, fault, method, path, status, headers, signature):
    ex = fetch(lab.edge([fault] if fault else []), method, path)
    assert ex.status == status and ex.content_type == "application/json"
    assert all(ex.header(h) for h in headers), ex.headers
    assert ex.x_cache == "Error from cloudfront"
    found = diagnose(ex)
    assert found is not None and found.signature_id == signature, found


def test_correct_lab_answers_are_not_diagnosed(lab: Lab):
    edge = lab.edge()
    for method, path in (("GET", "/"), ("GET", "/docs/"), ("GET", "/api/health"), ("POST", "/api/echo")):
        ex = fetch(edge, method, path)
        assert ex.status == 200 and diagnose(ex) is None, (path, diagnose(ex))
