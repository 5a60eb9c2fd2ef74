"""security rules on canned exchanges: each passes on a correct answer and fails, naming the cause, on a wrong one.

The good headers are the lab's policy; the bad ones are the forms the Observatory's own tests penalise
(github.com/mdn/mdn-http-observatory v1.4.8, test/*.test.js) and CloudFront's managed SecurityHeadersPolicy."""

import pytest

from edgeverify.exchange import Exchange
from edgeverify.rules import Violation, security

GOOD_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'self'")
GOOD = [("Content-Security-Policy", GOOD_CSP), ("X-Frame-Options", "SAMEORIGIN"), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"), ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin")]


def ex(headers=GOOD, path="/", status=200, ctype="text/html", body="<!doctype html><html></html>", method="GET"):
    return Exchange(method=method, url=f"https://www.example.test{path}", status=status, reason="",
                    headers=[("Content-Type", ctype), *headers], body=body.encode())


def without(name, headers=GOOD):
    return [h for h in headers if h[0].lower() != name.lower()]


def with_csp(value):
    return without("Content-Security-Policy") + [("Content-Security-Policy", value)]


def fails(check, *args):
    with pytest.raises(Violation) as info:
        check(*args)
    text = info.value.render()
    assert "Reproduce: curl" in text and "Likely cause:" in text
    return text


def test_csp_present():
    security.check_csp_present([ex()])
    assert "without Content-Security-Policy" in fails(security.check_csp_present, [ex(without("Content-Security-Policy"))])


@pytest.mark.parametrize(("policy", "said"), [
    ("default-src 'self'; script-src 'self' 'unsafe-inline'; base-uri 'self'; frame-ancestors 'self'", "'unsafe-inline'"),
    ("default-src 'self'; script-src 'self' 'unsafe-eval'; base-uri 'self'; frame-ancestors 'self'", "'unsafe-eval'"),
    ("default-src 'self'; script-src https:; base-uri 'self'; frame-ancestors 'self'", "script-src allows https:"),
    ("script-src 'self'; base-uri 'self'; frame-ancestors 'self'", "no object-src"),
    ("default-src 'self'; frame-ancestors 'self'", "no base-uri"),
    ("default-src 'self'; base-uri 'self'", "no frame-ancestors"),
    ("default-src 'self'; default-src 'none'", "invalid policy"),
])
def test_csp_dangerous_forms(policy, said):
    text = fails(security.check_csp_safe, [ex(with_csp(policy))])
    assert said in text and "SecurityHeadersConfig.ContentSecurityPolicy" in text


def test_csp_nonce_makes_unsafe_inline_harmless():
    security.check_csp_safe([ex(with_csp(GOOD_CSP.replace("script-src 'self'", "script-src 'nonce-r4nd' 'unsafe-inline'")))])


def test_framing():
    security.check_framing([ex()])
    security.check_framing([ex(without("X-Frame-Options"))])  # frame-ancestors suffices
    text = fails(security.check_framing, [ex(with_csp("default-src 'self'") + [("X-Frame-Options", "ALLOWALL")])])
    assert "not DENY or SAMEORIGIN" in text and "FrameOptions" in text


def test_nosniff_on_every_kind():
    security.check_nosniff([("document", ex()), ("api", ex(path="/api/health", ctype="application/json"))])
    text = fails(security.check_nosniff, [("document", ex()), ("asset", ex(without("X-Content-Type-Options"),
                                                                          path="/assets/app.js"))])
    assert "asset GET /assets/app.js" in text and "ContentTypeOptions" in text


def test_referrer_policy():
    security.check_referrer_policy([ex()])
    text = fails(security.check_referrer_policy, [ex(without("Referrer-Policy") + [("Referrer-Policy", "unsafe-url")])])
    assert "unsafe-url (unsafe)" in text


def test_cookies():
    good = GOOD + [("Set-Cookie", "sid=1; Path=/; Secure; HttpOnly; SameSite=Lax"),
                   ("Set-Cookie", "theme=dark; Path=/; Secure; SameSite=Strict")]
    security.check_cookies([("document", ex(good))], script_cookies=["theme"])
    text = fails(security.check_cookies, [("api", ex(GOOD + [("Set-Cookie", "sid=1; Path=/; SameSite=None")]))])
    assert "no Secure, no HttpOnly, SameSite=None without Secure" in text


def test_sri():
    page = '<script src="https://cdn.example.org/lib.js" integrity="sha384-abc" crossorigin="anonymous"></script>'
    security.check_sri([ex(body=page)], "www.example.test")
    bad = '<link rel="stylesheet" href="https://cdn.example.org/a.css"><script src="/app.js"></script>'
    assert "<link> https://cdn.example.org/a.css without integrity" in fails(security.check_sri, [ex(body=bad)],
                                                                            "www.example.test")


def test_isolation_is_advisory():
    security.check_isolation([ex()])
    with pytest.raises(Violation) as info:
        security.check_isolation([ex(without("Cross-Origin-Opener-Policy"))])
    assert info.value.advisory


SOURCE_MAP = '{"version":3,"file":"app.js","sources":["../src/app.ts"],"sourcesContent":["x"],"mappings":"AAAA"}'


def test_source_maps_told_apart_by_content():
    shell = ex(path="/assets/app.js.map")  # the SPA fallback answering 200 HTML is not a source map
    security.check_source_maps([shell, ex(status=403, path="/assets/b.js.map", ctype="application/xml")])
    served = ex(path="/assets/app.js.map", ctype="application/json", body=SOURCE_MAP)
    with pytest.raises(Violation) as info:
        security.check_source_maps([served])
    assert info.value.advisory and "sourcesContent" in info.value.render()
    with pytest.raises(Violation) as info:
        security.check_source_maps([served], fail=True)
    assert not info.value.advisory


def test_bucket_listing():
    security.check_bucket_listing([ex()])
    listing = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/'
               '2006-03-01/"><Name>b</Name></ListBucketResult>')
    assert "DefaultRootObject" in fails(security.check_bucket_listing, [ex(ctype="application/xml", body=listing)])


def test_dotfiles_shell_and_errors_pass_content_fails():
    shell = ex(body="<!doctype html><html>shell</html>")
    security.check_dotfiles([ex(path="/.git/config", body="<!doctype html><html>shell</html>"),
                             ex(path="/.env", status=403, ctype="application/xml", body="<Error/>")], shell)
    text = fails(security.check_dotfiles, [ex(path="/.env", ctype="binary/octet-stream", body="API_KEY=x\n")], shell)
    assert "GET /.env: 200" in text and "--exclude '.*'" in text


def test_api_errors_keep_cors():
    app = "https://app.example.test"
    good = ex([("Access-Control-Allow-Origin", app), ("Access-Control-Allow-Credentials", "true")], status=403,
              path="/api/echo", ctype="application/json", body='{"message":"Missing Authentication Token"}')
    security.check_api_errors_cors([(app, good)], credentials=True)
    bad = ex([("x-amzn-ErrorType", "MissingAuthenticationTokenException")], status=403, path="/api/echo",
             ctype="application/json", body='{"message":"Missing Authentication Token"}')
    text = fails(security.check_api_errors_cors, [(app, bad)], True)
    assert "DEFAULT_4XX" in text and "(MissingAuthenticationTokenException), no Access-Control-Allow-Origin" in text
