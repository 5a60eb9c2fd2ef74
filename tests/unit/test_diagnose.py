"""The one place that knows CloudFront's, S3's and API Gateway's signatures, on canned responses."""

import pytest

from edgeverify.diagnose import likely_cause
from edgeverify.exchange import Exchange

METHOD_403 = ("<HTML><BODY><H1>403 ERROR</H1>This distribution is not configured to allow the HTTP request method "
              "that was used for this request. The distribution supports only cachable requests.</BODY></HTML>")


def ex(status, body="", path="/api/echo", method="POST", ctype="text/html", x_cache="Error from cloudfront", error=None):
    headers = [("Content-Type", ctype), ("X-Cache", x_cache)]
    return Exchange(method, f"https://www.example.test{path}", status=status, headers=headers, body=body.encode(),
                    error=error)


@pytest.mark.parametrize("exchange, cause", [
    (ex(403, METHOD_403), "the CloudFront behavior for /api/* does not allow POST: add it to AllowedMethods"),
    (ex(403, METHOD_403, path="/", method="OPTIONS"), "the CloudFront behavior for the default behavior (*) does not allow OPTIONS"),
    (ex(403, "<Error><Code>AccessDenied</Code></Error>", path="/assets/a.js", method="GET", ctype="application/xml"),
     "S3 denied the key: the object is missing"),
    (ex(403, "<Error><Code>AccessDenied</Code></Error>", ctype="application/xml"), "the request reached S3, not API Gateway"),
    (ex(403, '{"message":"Missing Authentication Token"}', ctype="application/json"), "origin path and the behavior path double up"),
    (ex(403, '{"message": "Forbidden"}', ctype="application/json"), "AllViewerExceptHostHeader"),
    (ex(502, "<html>502</html>"), "the origin behind /api/* failed or timed out"),
    (ex(200, "<!doctype html>", path="/api/missing", method="GET", x_cache="Miss from cloudfront"),
     "also applies to the API"),
    (ex(200, "<!doctype html>", path="/assets/app.1234abcd.js", method="GET", x_cache="Miss from cloudfront"),
     "the SPA fallback page stands in for a missing object"),
    (ex(None, error="TLS handshake failed: certificate verify failed"), "ViewerCertificate"),
    (ex(None, error="Connection refused"), "nothing listens there"),
])
def test_signature_names_the_misconfiguration(exchange, cause):
    assert cause in (likely_cause(exchange) or "")


def test_an_ordinary_answer_has_no_signature():
    assert likely_cause(ex(200, '{"ok":true}', ctype="application/json", x_cache="Miss from cloudfront")) is None
    assert likely_cause(ex(404, '{"message":"Not Found"}', ctype="application/json")) is None
