"""cors rules on canned exchanges: each passes on a correct answer and fails, naming the cause, on a wrong one."""

import pytest

from edgeverify.exchange import Exchange
from edgeverify.rules import LISTED, Violation, cors
from edgeverify.rules.cors import Probe

APP = "https://app.example.test"
CF_403 = ("<HTML><TITLE>ERROR: The request could not be satisfied</TITLE><H1>403 ERROR</H1>"
          "This distribution is not configured to allow the HTTP request method that was used for this request.")


def ex(status=204, headers=(), method="OPTIONS", origin=APP, body="", ctype="application/json",
       x_cache="Miss from cloudfront"):
    hdrs = [("Content-Type", ctype), ("X-Cache", x_cache), *headers]
    req = [("Origin", origin)] if origin else []
    return Exchange(method=method, url="https://www.example.test/api/echo", request_headers=req, status=status,
                    reason="", headers=hdrs, body=body.encode())


def granted(origin=APP, vary=True, creds=True, methods="GET, POST, OPTIONS", headers="content-type"):
    h = [("Access-Control-Allow-Origin", origin)]
    h += [("Vary", "Origin")] if vary else []
    h += [("Access-Control-Allow-Credentials", "true")] if creds else []
    h += [("Access-Control-Allow-Methods", methods)] if methods else []
    h += [("Access-Control-Allow-Headers", headers)] if headers else []
    return h


def test_preflight_passes_when_granted():
    cors.check_preflight([(APP, "POST", ex(headers=granted())), (APP, "PUT", ex(headers=granted(methods="PUT")))],
                         ["content-type"], credentials=True)


def test_preflight_accepts_wildcard_without_credentials_and_safelisted_methods():
    cors.check_preflight([(APP, "POST", ex(headers=[("Access-Control-Allow-Origin", "*"),
                                                    ("Access-Control-Allow-Headers", "*")]))],
                         ["content-type"], credentials=False)


def test_preflight_blocked_at_the_edge_names_options():
    blocked = ex(403, body=CF_403, ctype="text/html", x_cache="Error from cloudfront")
    with pytest.raises(Violation) as err:
        cors.check_preflight([(APP, "POST", blocked)], ["content-type"], credentials=True)
    text = err.value.render()
    assert "OPTIONS /api/echo from https://app.example.test for POST: 403" in text
    assert "does not allow OPTIONS" in text


def test_preflight_lists_every_missing_grant_in_one_violation():
    answers = [(APP, "PUT", ex(headers=granted(methods="GET", headers="authorization", creds=False))),
               ("https://www.example.test", "PUT", ex(headers=granted(origin=APP)))]
    with pytest.raises(Violation) as err:
        cors.check_preflight(answers, ["content-type"], credentials=True)
    actual = err.value.actual
    assert "lacks PUT" in actual and "lacks content-type" in actual
    assert "no Access-Control-Allow-Credentials: true" in actual
    assert "from https://www.example.test for PUT: Access-Control-Allow-Origin: https://app.example.test" in actual
    assert err.value.exchange is answers[0][2]


def test_preflight_wildcard_with_credentials_fails():
    with pytest.raises(Violation) as err:
        cors.check_preflight([(APP, "POST", ex(headers=[("Access-Control-Allow-Origin", "*")]))], [], credentials=True)
    assert "browsers refuse *" in err.value.actual and "cors.credentials: true" in err.value.render()


def test_actual_request_passes_and_fails():
    cors.check_actual_request([(APP, ex(200, granted(), "POST"))], credentials=True)
    with pytest.raises(Violation) as err:
        cors.check_actual_request([(APP, ex(200, [], "POST"))], credentials=True)
    assert "POST /api/echo from https://app.example.test: 200, no Access-Control-Allow-Origin" in err.value.actual
    assert "Lambda proxy integration" in err.value.render()


def test_refused_probes_cover_the_corsy_classes():
    probes = {p.origin: p.kind for p in cors.refused_probes([APP, "https://www.example.test"], ["https://x.test"])}
    assert probes[cors.FOREIGN_ORIGIN] == "reflection"
    assert probes["null"] == "null"
    assert probes["https://www.example.test.evil.test"] == "prefix"
    assert probes["https://evilexample.test"] == "suffix"
    assert probes["https://wwwxexample.test"] == "unescaped-dot"
    assert probes["http://www.example.test"] == "http"
    assert probes["https://x.test"] == "declared"
    assert APP not in probes


def test_refused_probes_never_include_an_allowed_origin():
    allowed = ["https://example.test", "http://example.test"]
    assert not {p.origin for p in cors.refused_probes(allowed)} & set(allowed)


def test_refuses_foreign_passes_without_grants_and_with_public_wildcard():
    probe = Probe("https://evil.test", "reflection")
    cors.check_refuses_foreign([(probe, ex(headers=[("Vary", "Origin")], origin=probe.origin)),
                                (probe, ex(headers=[("Access-Control-Allow-Origin", "*")], origin=probe.origin))])


@pytest.mark.parametrize("probe, cause", [
    (Probe("https://evil.test", "reflection"), "never reflect it"),
    (Probe("null", "null"), "admits 'null'"),
    (Probe("https://app.example.test.evil.test", "prefix"), "matched by prefix"),
    (Probe("http://app.example.test", "http"), "ignores the scheme"),
])
def test_refuses_foreign_fails_on_admitted_origin_naming_the_class(probe, cause):
    admitted = ex(headers=granted(origin=probe.origin), origin=probe.origin)
    with pytest.raises(Violation) as err:
        cors.check_refuses_foreign([(probe, admitted)])
    text = err.value.render()
    assert f"{probe.origin} ({probe.kind}) admitted by OPTIONS /api/echo WITH credentials" in text
    assert cause in text and "the worst case" in text


def test_refuses_foreign_caps_the_list():
    probes = [Probe(f"https://evil{i}.test", "declared") for i in range(LISTED + 4)]
    with pytest.raises(Violation) as err:
        cors.check_refuses_foreign([(p, ex(headers=granted(origin=p.origin, creds=False), origin=p.origin))
                                    for p in probes])
    assert "and 4 more" in err.value.actual and "WITH credentials" not in err.value.actual


def test_wildcard_credentials():
    cors.check_wildcard_credentials([ex(headers=[("Access-Control-Allow-Origin", "*")]), ex(headers=granted())])
    with pytest.raises(Violation) as err:
        cors.check_wildcard_credentials([ex(headers=[("Access-Control-Allow-Origin", "*"),
                                                     ("Access-Control-Allow-Credentials", "true")])])
    assert "from https://app.example.test: Access-Control-Allow-Origin: *" in err.value.actual


def test_vary_origin():
    cors.check_vary_origin([ex(headers=granted()), ex(headers=[("Access-Control-Allow-Origin", "*")]), ex()])
    cors.check_vary_origin([ex(headers=granted(vary=False) + [("Vary", "Accept-Encoding, origin")])])
    with pytest.raises(Violation) as err:
        cors.check_vary_origin([ex(headers=granted(vary=False) + [("Vary", "Accept-Encoding")])])
    assert "Vary: Accept-Encoding" in err.value.actual and "add it to every response" in err.value.render()


def test_cache_key():
    cors.check_cache_key(ex(200, [], "GET", origin=None), ex(200, granted(), "GET"), APP)
    cors.check_cache_key(ex(200, [], "GET", origin=None), ex(200, [("Access-Control-Allow-Origin", "*")], "GET"), APP)
    without = ex(200, [], "GET", origin=None)
    with pytest.raises(Violation) as err:
        cors.check_cache_key(without, ex(200, [], "GET", x_cache="Hit from cloudfront"), APP)
    text = err.value.render()
    assert "the copy cached for the request without Origin" in text
    assert "include Origin in the cache policy" in text
    assert err.value.reproduce.count("curl ") == 2


def test_a_list_in_one_header_and_a_header_sent_twice_are_named_as_such():
    listed = granted(origin=f"{APP}, https://www.example.test")
    with pytest.raises(Violation) as one:
        cors.check_actual_request([(APP, ex(200, listed, "POST"))], credentials=True)
    assert "holds a comma-separated list" in one.value.render() and "answers a different origin" not in one.value.render()
    twice = granted() + [("Access-Control-Allow-Origin", APP)]
    with pytest.raises(Violation) as two:
        cors.check_actual_request([(APP, ex(200, twice, "POST"))], credentials=True)
    assert "is sent 2 times" in two.value.render() and "comma-separated" not in two.value.render()
