"""cors: allowed origins get exact grants on preflights and real requests; every other origin is refused.

Only requests the target declares change state: a real cross-origin request is the declared API call
on that path (sent once, with the first allowed Origin, shared with the api suite), or a GET.
"""

import pytest

from edgeverify.evidence import Request
from edgeverify.probes import api_call_request, token
from edgeverify.rules import cors as rules


def cors_of(target):
    if target.cors is None:
        pytest.skip("the target has no cors section: the API is called same-origin only")
    if not target.cors.allowed_origins or not target.cors.paths:
        pytest.skip("cors.allowed_origins or cors.paths is empty: nothing to check cross-origin")
    return target.cors


def preflight(cors, path, origin, method):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if cors.request_headers:
        headers["Access-Control-Request-Headers"] = ", ".join(cors.request_headers)
    return Request.make("OPTIONS", path, headers=headers)


def real_requests(target, cors, path):
    """(origin, request) for the real calls a browser makes on this path, from each allowed origin.

    The declared call if there is one (an unsafe one only from the first origin, the one its single
    request carries), else a GET when the path allows GET; nothing is invented for POST or DELETE.
    """
    declared = next((c for c in target.api.calls if c.path == path), None)
    if declared is not None:
        shared = api_call_request(target, declared)
        if not declared.may_repeat:
            return [(cors.allowed_origins[0], shared)]
        return [(origin, Request.make(declared.method, path, headers={**declared.headers, "Origin": origin},
                                      json=declared.json, repeat_safe=True)) for origin in cors.allowed_origins]
    if "GET" in [m.upper() for m in cors.methods] or not cors.methods:
        return [(origin, Request.make("GET", path, headers={"Origin": origin})) for origin in cors.allowed_origins]
    return []


@pytest.mark.rule("cors.preflight")
def test_preflight_from_each_allowed_origin_is_granted(edge, target):
    cors = cors_of(target)
    asked = [(origin, method, preflight(cors, path, origin, method))
             for path in cors.paths for origin in cors.allowed_origins for method in cors.methods]
    answers = edge.send_all([r for _, _, r in asked])
    rules.check_preflight([(o, m, ex) for (o, m, _), ex in zip(asked, answers)], cors.request_headers,
                          cors.credentials)


@pytest.mark.rule("cors.actual_request")
def test_real_request_from_each_allowed_origin_is_granted(edge, target):
    cors = cors_of(target)
    asked = [pair for path in cors.paths for pair in real_requests(target, cors, path)]
    if not asked:
        pytest.skip("no cors path has a declared call or allows GET: only preflights can be checked without "
                    "inventing a state-changing request")
    answers = edge.send_all([r for _, r in asked], whole=True)
    rules.check_actual_request([(origin, ex) for (origin, _), ex in zip(asked, answers)], cors.credentials)


@pytest.mark.rule("cors.refuses_foreign")
def test_foreign_and_look_alike_origins_are_refused(edge, target):
    cors = cors_of(target)
    method = next((m for m in cors.methods if m.upper() != "GET"), "GET")
    asked = []
    for path in cors.paths:
        for probe in rules.refused_probes(cors.allowed_origins, cors.refused_origins):
            asked.append((probe, preflight(cors, path, probe.origin, method)))
            asked.append((probe, Request.make("GET", path, headers={"Origin": probe.origin})))
    answers = edge.send_all([r for _, r in asked])
    rules.check_refuses_foreign([(probe, ex) for (probe, _), ex in zip(asked, answers)])


@pytest.mark.rule("cors.wildcard_credentials")
def test_wildcard_origin_never_comes_with_credentials(edge, target):
    cors = cors_of(target)
    asked = []
    for path in cors.paths:
        for origin in [*cors.allowed_origins, rules.FOREIGN_ORIGIN]:
            asked.append(preflight(cors, path, origin, cors.methods[0] if cors.methods else "GET"))
            asked.append(Request.make("GET", path, headers={"Origin": origin}))
    rules.check_wildcard_credentials(edge.send_all(asked))


@pytest.mark.rule("cors.vary_origin")
def test_per_origin_answers_vary_on_origin(edge, target):
    cors = cors_of(target)
    asked = []
    for path in cors.paths:
        for origin in cors.allowed_origins:
            asked.append(preflight(cors, path, origin, cors.methods[0] if cors.methods else "GET"))
        asked += [r for _, r in real_requests(target, cors, path)]
    rules.check_vary_origin(edge.send_all(asked))


@pytest.mark.rule("cors.cache_key")
def test_answer_cached_without_origin_still_carries_cors_headers(edge, target):
    cors = cors_of(target)
    origin = cors.allowed_origins[0]
    gets = [c.path for c in target.api.calls if c.method == "GET" and "?" not in c.path]
    paths = list(dict.fromkeys([*cors.paths, *gets]))
    # Only where a fresh GET carries CORS headers can a cached copy be seen to lose them.
    fresh = edge.send_all([Request.make("GET", f"{p}?ev={token()}", headers={"Origin": origin}) for p in paths])
    probed = [p for p, ex in zip(paths, fresh) if rules.admits(ex, origin, wildcard=True)]
    if not probed:
        pytest.skip(f"no cors path or declared GET answers {origin} with CORS headers; the cache-key trap needs one")
    same = [f"{p}?ev={token()}" for p in probed]
    without = edge.send_all([Request.make("GET", p) for p in same])
    with_origin = edge.send_all([Request.make("GET", p, headers={"Origin": origin}) for p in same])
    for a, b in zip(without, with_origin):
        rules.check_cache_key(a, b, origin)
