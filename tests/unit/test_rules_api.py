"""api rules on canned exchanges: each passes on a correct answer and fails, naming the cause, on a wrong one."""

import json

import pytest

from edgeverify.exchange import Exchange
from edgeverify.rules import Violation, api

CF_403 = ("<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY><H1>403 ERROR</H1>"
          "This distribution is not configured to allow the HTTP request method that was used for this request.")
SHELL = '<!doctype html><html><head><title>Example app</title></head><body><div id="root"></div></body></html>'


def ex(status=200, body="", ctype="application/json", method="GET", path="/api/health", headers=(),
       x_cache="Miss from cloudfront"):
    hdrs = [("Content-Type", ctype)] if ctype else []
    hdrs += [("X-Cache", x_cache)] if x_cache else []
    body = body if isinstance(body, str) else json.dumps(body)
    return Exchange(method=method, url=f"https://www.example.test{path}", status=status, reason="",
                    headers=hdrs + list(headers), body=body.encode())


API_IDS = [("x-amzn-RequestId", "8b0e6a8e-1"), ("x-amz-apigw-id", "abc=")]


def test_call_passes_with_status_type_and_subset():
    api.check_call(ex(body={"echo": {"hello": "edge"}, "method": "POST"}, headers=API_IDS), "echo", 200,
                   subset={"echo": {"hello": "edge"}})


def test_call_fails_on_cloudfront_method_error_with_its_diagnosis():
    with pytest.raises(Violation) as err:
        api.check_call(ex(403, CF_403, "text/html", "POST", "/api/echo", x_cache="Error from cloudfront"), "echo", 200)
    text = err.value.render()
    assert "Actual:   403 text/html for echo" in text
    assert "does not allow POST" in text and "Reproduce: curl" in text


def test_call_status_from_api_gateway_names_the_host_header_policy():
    with pytest.raises(Violation) as err:
        api.check_call(ex(403, {"message": "Forbidden"}, headers=API_IDS), "health", 200)
    assert "AllViewerExceptHostHeader" in err.value.render()


def test_call_fails_on_html_with_200():
    with pytest.raises(Violation) as err:
        api.check_call(ex(200, SHELL, "text/html"), "health", 200)
    assert "200 text/html for health" in err.value.actual


@pytest.mark.parametrize("body, difference", [
    ({"status": "down"}, "key 'status' is \"down\", expected \"ok\""),
    ({"state": "ok"}, "key 'status' is missing"),
    ([1, 2], "the body is a list, not an object"),
])
def test_call_names_the_key_that_differs(body, difference):
    with pytest.raises(Violation) as err:
        api.check_call(ex(body=body), "health", 200, subset={"status": "ok"})
    assert difference in err.value.actual


def test_call_fails_when_body_is_not_json():
    with pytest.raises(Violation, match="not JSON"):
        api.check_call(ex(body="ok"), "health", 200, subset={"status": "ok"})


@pytest.mark.parametrize("expected, actual, found", [
    ({"a": {"b": [1, {"c": True}]}}, {"a": {"b": [1, {"c": True, "d": 0}], "x": 1}}, None),
    ({"n": 1}, {"n": 1.0}, None),
    ({"n": 1}, {"n": True}, "key 'n' is true, expected 1"),
    ({"a": {"b": [1, {"c": True}]}}, {"a": {"b": [1, {"c": False}]}}, "key 'a.b[1].c' is false, expected true"),
    ({"a": [1, 2]}, {"a": [1]}, "a has 1 items, expected at least 2"),
])
def test_json_subset_difference(expected, actual, found):
    assert api.json_subset_difference(expected, actual) == found


def test_reaches_origin_passes_with_request_id_and_miss():
    api.check_reaches_origin(ex(headers=API_IDS), "health")


def test_reaches_origin_fails_without_api_gateway_headers():
    with pytest.raises(Violation) as err:
        api.check_reaches_origin(ex(502, "<html>", "text/html", x_cache="Error from cloudfront"), "health")
    text = err.value.render()
    assert "without any of x-amzn-requestid" in text and "failed or timed out" in text


@pytest.mark.parametrize("x_cache", ["Hit from cloudfront", "RefreshHit from cloudfront"])
def test_reaches_origin_fails_on_an_edge_hit(x_cache):
    with pytest.raises(Violation) as err:
        api.check_reaches_origin(ex(headers=API_IDS, x_cache=x_cache), "health")
    assert "CachingDisabled" in err.value.render()


@pytest.mark.parametrize("status, body", [(404, {"message": "Not Found"}),
                                          (403, {"message": "Missing Authentication Token"})])
def test_unknown_route_passes_on_the_apis_json_error(status, body):
    api.check_unknown_route(ex(status, body, path="/api/__edgeverify_no_such_route", headers=API_IDS))


def test_unknown_route_fails_on_the_spa_shell():
    with pytest.raises(Violation) as err:
        api.check_unknown_route(ex(200, SHELL, "text/html", path="/api/__edgeverify_no_such_route"))
    text = err.value.render()
    assert "(the SPA shell)" in text and "distribution-wide" in text


def test_unknown_route_fails_on_other_status_and_on_non_json():
    with pytest.raises(Violation, match="502"):
        api.check_unknown_route(ex(502, "<html>", "text/html", x_cache="Error from cloudfront"))
    with pytest.raises(Violation) as err:
        api.check_unknown_route(ex(403, "<Error><Code>AccessDenied</Code></Error>", "application/xml"))
    assert "the request reached S3, not API Gateway" in err.value.render()


def test_no_response_is_a_violation_of_the_rule():
    with pytest.raises(Violation, match="no response"):
        api.check_call(Exchange("GET", "https://www.example.test/api/health", error="Connection refused"), "h", 200)
