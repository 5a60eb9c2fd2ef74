"""api: each declared call answers as declared, from API Gateway itself; unknown routes keep the API's errors."""

import pytest

from edgeverify.probes import api_call_request, token
from edgeverify.rules import api


def call(edge, target, api_call):
    # The same request for every check that judges this call: sent once, and a POST never repeated
    # unless the target marks the call repeat_safe.
    return edge.send_all([api_call_request(target, api_call)], whole=True)[0]


@pytest.mark.rule("api.call")
def test_declared_call_answers_as_expected(edge, target, api_call):
    want = api_call.expect
    api.check_call(call(edge, target, api_call), api_call.label, want.status, want.content_type, want.json)


@pytest.mark.rule("api.reaches_origin")
def test_declared_call_reaches_the_api_origin(edge, target, api_call):
    api.check_reaches_origin(call(edge, target, api_call), api_call.label)


@pytest.mark.rule("api.unknown_route")
def test_unknown_route_answers_the_apis_own_error(edge, target):
    api.check_unknown_route(edge.get(target.api.probe_path))


@pytest.mark.rule("api.unknown_route")
def test_never_requested_route_answers_the_apis_own_error(edge, target):
    # A path no cache has seen: an error cached at the edge cannot stand in for the API's answer.
    api.check_unknown_route(edge.get(f"{target.api.prefix.rstrip('/')}/__edgeverify-{token()}"))
