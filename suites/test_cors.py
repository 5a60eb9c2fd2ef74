"""cors: allowed origins get exact grants on preflights and real requests; every other origin is refused."""

import pytest

from edgeverify.probes import token
from edgeverify.rules import cors as rules

BODY_METHODS = {"POST", "PUT", "PATCH"}


@pytest.fixture
def cors(target):
    if target.cors is None:
        pytest.skip("the target has no cors section: the API is called same-origin only")
    if not target.cors.allowed_origins or not target.cors.paths:
        pytest.skip("cors.allowed_origins or cors.paths is empty: nothing to check cross-origin")
    return target.cors


def preflight(edge, cors, path, origin, method):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if cors.request_headers:
        headers["Access-Control-Request-Headers"] = ", ".join(cors.request_headers)
    return edge.options(path, headers=headers)


def real_request(edge, target, path, origin):
    """The call a browser makes on this path: the declared api call if any, else GET (or the first method)."""
    declared = next((c for c in target.api.calls if c.path == path), None)
    if declared is not None:
        return edge.request(declared.method, path, headers={**declared.headers, "Origin": origin},
                            json=declared.json, repeat_safe=declared.may_repeat)
    methods = [m.upper() for m in target.cors.methods] or ["GET"]
    method = "GET" if "GET" in methods else methods[0]
    body = {"edgeverify": token()} if method in BODY_METHODS else None
    return edge.request(method, path, headers={"Origin": origin}, json=body, repeat_safe=False)


@pytest.mark.rule("cors.preflight")
def test_preflight_from_each_allowed_origin_is_granted(edge, cors):
    answers = [(origin, method, preflight(edge, cors, path, origin, method))
               for path in cors.paths for origin in cors.allowed_origins for method in cors.methods]
    rules.check_preflight(answers, cors.request_headers, cors.credentials)


@pytest.mark.rule("cors.actual_request")
def test_real_request_from_each_allowed_origin_is_granted(edge, target, cors):
    answers = [(origin, real_request(edge, target, path, origin))
               for path in cors.paths for origin in cors.allowed_origins]
    rules.check_actual_request(answers, cors.credentials)


@pytest.mark.rule("cors.refuses_foreign")
def test_foreign_and_look_alike_origins_are_refused(edge, cors):
    method = next((m for m in cors.methods if m.upper() != "GET"), "GET")
    answers = []
    for path in cors.paths:
        for probe in rules.refused_probes(cors.allowed_origins, cors.refused_origins):
            answers.append((probe, preflight(edge, cors, path, probe.origin, method)))
            answers.append((probe, edge.get(path, headers={"Origin": probe.origin})))
    rules.check_refuses_foreign(answers)


@pytest.mark.rule("cors.wildcard_credentials")
def test_wildcard_origin_never_comes_with_credentials(edge, cors):
    answers = []
    for path in cors.paths:
        for origin in [*cors.allowed_origins, rules.FOREIGN_ORIGIN]:
            answers.append(preflight(edge, cors, path, origin, cors.methods[0] if cors.methods else "GET"))
            answers.append(edge.get(path, headers={"Origin": origin}))
    rules.check_wildcard_credentials(answers)


@pytest.mark.rule("cors.vary_origin")
def test_per_origin_answers_vary_on_origin(edge, target, cors):
    answers = []
    for path in cors.paths:
        for origin in cors.allowed_origins:
            answers.append(preflight(edge, cors, path, origin, cors.methods[0] if cors.methods else "GET"))
            answers.append(real_request(edge, target, path, origin))
    rules.check_vary_origin(answers)


@pytest.mark.rule("cors.cache_key")
def test_answer_cached_without_origin_still_carries_cors_headers(edge, target, cors):
    origin = cors.allowed_origins[0]
    gets = [c.path for c in target.api.calls if c.method == "GET" and "?" not in c.path]
    probed = []
    for path in dict.fromkeys([*cors.paths, *gets]):
        # Only where a fresh GET carries CORS headers can a cached copy be seen to lose them.
        if not rules.admits(edge.get(f"{path}?ev={token()}", headers={"Origin": origin}), origin, wildcard=True):
            continue
        probed.append(path)
        same = f"{path}?ev={token()}"
        without = edge.get(same)
        rules.check_cache_key(without, edge.get(same, headers={"Origin": origin}), origin)
    if not probed:
        pytest.skip(f"no cors path or declared GET answers {origin} with CORS headers; the cache-key trap needs one")
