"""api: declared calls answer as expected from the API origin; unknown routes keep the API's own errors."""

from __future__ import annotations

import json
from typing import Any

from ..diagnose import unknown_answer
from ..exchange import Exchange
from . import Violation, expect, responded, rule

# Headers API Gateway (REST and HTTP APIs) or Lambda URLs add, and that S3 or CloudFront never send.
ORIGIN_HEADERS = ("x-amzn-requestid", "x-amz-apigw-id", "apigw-requestid", "x-amzn-trace-id", "x-amzn-errortype")
UNKNOWN_ROUTE_STATUSES = (403, 404)

API_BEHAVIOR = ("check the /api/* behavior: its origin is the API Gateway domain, its AllowedMethods include every "
                "method the API uses, its origin request policy is AllViewerExceptHostHeader")

CALL = rule(
    "api.call",
    "Each declared API call answers the expected status with an application/json body containing the expected JSON",
    "This is what the app's browser code does after every deploy. A wrong status or an HTML body means the request "
    "went somewhere other than the API route (another behavior, a custom error page, a wrong stage); a body "
    "without the expected fields means a different API version or integration is live.",
    "edge rules 'api'; schemathesis status_code_conformance / content_type_conformance",
    threshold="status, content type and JSON subset as declared in api.calls[].expect",
)
REACHES_ORIGIN = rule(
    "api.reaches_origin",
    "Declared API calls reach the API origin (an API Gateway request id header; X-Cache not Hit)",
    "An API answer served from the edge cache is stale or another user's; one without API Gateway's request id "
    "did not come from API Gateway at all. The /api/* behavior should use the CachingDisabled cache policy "
    "(4135ea2d-6df8-44a3-9df3-4b5a84be39ad) and point at the API Gateway origin.",
    "CloudFront managed cache policies; API Gateway response headers (x-amzn-RequestId, x-amz-apigw-id)",
    threshold="one of " + ", ".join(ORIGIN_HEADERS) + "; X-Cache neither Hit nor RefreshHit",
)
UNKNOWN_ROUTE = rule(
    "api.unknown_route",
    "An unknown route under the API prefix answers the API's own JSON 403/404, never 200 HTML",
    "Clients branch on the API's error status and JSON body. If CloudFront's custom error responses (403/404 -> "
    "/index.html, 200) apply to the API, every API error reaches the app as '200 OK' with the HTML shell, and "
    "failures are silently parsed as success. Custom error responses are distribution-wide: remove them and use a "
    "viewer-request CloudFront Function on the default behavior that rewrites extension-less paths to /index.html.",
    "edge rules 'api' and 'spa'; CloudFront custom error responses",
    threshold="403 or 404 with a JSON body",
)


def json_subset_difference(expected: Any, actual: Any, where: str = "") -> str | None:
    """Where `actual` fails to contain `expected` (dicts by key, lists item by item), or None if it does."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where or 'the body'} is {_kind(actual)}, not an object"
        for key, value in expected.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in actual:
                return f"key '{path}' is missing"
            found = json_subset_difference(value, actual[key], path)
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where or 'the body'} is {_kind(actual)}, not a list"
        if len(actual) < len(expected):
            return f"{where or 'the body'} has {len(actual)} items, expected at least {len(expected)}"
        for i, value in enumerate(expected):
            found = json_subset_difference(value, actual[i], f"{where}[{i}]")
            if found:
                return found
        return None
    if expected != actual or type(expected) is not type(actual) and not _same_number(expected, actual):
        return f"key '{where}' is {_show(actual)}, expected {_show(expected)}" if where else \
            f"the body is {_show(actual)}, expected {_show(expected)}"
    return None


def check_call(ex: Exchange, label: str, status: int, content_type: str = "application/json",
               subset: Any = None) -> None:
    expected = f"{status} {content_type}" + (f" containing {_show(subset)}" if subset is not None else "")
    responded(CALL, ex, expected)
    expect(ex.status == status, CALL, expected, f"{ex.status_line} {ex.content_type} for {label}".replace("  ", " "),
           ex, cause=_who_answered(ex))
    expect(ex.content_type == content_type.lower(), CALL, expected,
           f"{ex.status_line} {ex.content_type or 'without Content-Type'} for {label}", ex,
           cause="the answer is not the API's: a CloudFront custom error response or the S3 origin answered "
                 "(check the /api/* behavior's path pattern and origin), or the integration does not set "
                 "Content-Type: application/json")
    if subset is not None:
        body = ex.json()
        if body is None:
            raise Violation(CALL, expected, f"{ex.status_line} whose body is not JSON: {ex.body_excerpt()!r}", ex,
                            cause="the integration returns a body that is not JSON")
        difference = json_subset_difference(subset, body)
        expect(difference is None, CALL, expected, f"{difference} in {ex.body_excerpt()}", ex,
               cause="a different API version or integration answers: check the stage deployment and the "
                     "Lambda alias or version the integration points at")


def check_reaches_origin(ex: Exchange, label: str, origin_headers: tuple[str, ...] = ORIGIN_HEADERS) -> None:
    expected = f"an API Gateway request id ({', '.join(origin_headers[:2])}) and X-Cache not Hit"
    responded(REACHES_ORIGIN, ex, expected)
    found = [name for name in origin_headers if ex.header(name) is not None]
    expect(bool(found), REACHES_ORIGIN, expected,
           f"{ex.status_line} for {label} without any of {', '.join(origin_headers)}"
           + (f" (X-Cache: {ex.x_cache})" if ex.x_cache else ""), ex,
           cause=f"the answer did not come from API Gateway: {API_BEHAVIOR}")
    hit = ex.x_cache.lower().startswith(("hit", "refreshhit"))
    expect(not hit, REACHES_ORIGIN, expected, f"X-Cache: {ex.x_cache} for {label} (served from the edge cache)", ex,
           cause="the /api/* behavior caches responses: use the CachingDisabled managed cache policy "
                 "(4135ea2d-6df8-44a3-9df3-4b5a84be39ad), or a policy with Min/Default/Max TTL 0")


def check_unknown_route(ex: Exchange, statuses: tuple[int, ...] = UNKNOWN_ROUTE_STATUSES) -> None:
    allowed = " or ".join(map(str, statuses))
    expected = f"the API's own {allowed} with a JSON body"
    responded(UNKNOWN_ROUTE, ex, expected)
    swallowed = ex.status is not None and 200 <= ex.status < 300 and ex.content_type == "text/html"
    expect(not swallowed, UNKNOWN_ROUTE, expected, f"{ex.status_line} {ex.content_type} (the SPA shell)", ex,
           cause="a custom error response (403/404 -> /index.html, 200) turns API errors into the app shell: "
                 "remove it and rewrite SPA routes with a viewer-request function on the default behavior only")
    expect(ex.status in statuses, UNKNOWN_ROUTE, expected, f"{ex.status_line} {ex.content_type}".rstrip(), ex,
           cause=f"something other than the API answers unknown routes under the prefix: {API_BEHAVIOR}")
    expect(ex.content_type == "application/json" or ex.json() is not None, UNKNOWN_ROUTE, expected,
           f"{ex.status_line} {ex.content_type or 'without Content-Type'}: {ex.body_excerpt()!r}", ex,
           cause="the error is not the API's JSON error: CloudFront or S3 answered (check the /api/* behavior's "
                 "path pattern and origin), or a custom error response replaced the API's body")


def _who_answered(ex: Exchange) -> str:
    """The rule's own guess at a wrong status: API Gateway's answer, or someone else's."""
    if any(ex.header(name) is not None for name in ORIGIN_HEADERS):
        if ex.status == 403:
            return ("API Gateway itself refused the call (403): the viewer Host header forwarded to API Gateway (use "
                    "the AllViewerExceptHostHeader origin request policy on /api/*), an API key, WAF rule or "
                    "authorizer, or no such route/stage")
        return (f"API Gateway itself answered {ex.status}: check the route, method, stage deployment and authorizer "
                "in API Gateway, and the headers and body the call declares")
    made = unknown_answer(ex)  # the edge's own 4xx that is not CloudFront's page: a WAF custom response, ranked
    if made is not None and made.candidates:
        return made.text
    return f"CloudFront or S3 answered, not API Gateway (no API Gateway request id): {API_BEHAVIOR}"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _same_number(a: Any, b: Any) -> bool:
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
        and not isinstance(b, bool) and a == b


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
