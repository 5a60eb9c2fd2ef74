"""https and propagation rules on canned exchanges and handshakes: pass when right, fail naming the cause."""

import datetime as dt

import pytest

from edgeverify.exchange import Exchange, TlsInfo
from edgeverify.rules import Violation, https
from edgeverify.rules.propagation import check_release_marker

URL = "https://www.example.test/deep/link?utm=1&x=2"


def answer(status=301, location=None, hsts=None, body="", method="GET", scheme="http"):
    headers = [("Location", location)] if location else []
    headers += [("Strict-Transport-Security", hsts)] if hsts else []
    return Exchange(method=method, url=URL.replace("https", scheme, 1), status=status, reason="", headers=headers,
                    body=body.encode())


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_passes(status):
    https.check_redirect_status(answer(status, URL), [301, 308])


def test_content_over_http_is_allow_all():
    with pytest.raises(Violation) as info:
        https.check_redirect_status(answer(200), [301, 308])
    assert "content served over plain HTTP" in info.value.actual and "allow-all" in info.value.render()


def test_temporary_redirect_fails():
    with pytest.raises(Violation, match="expected 301 or 308"):
        https.check_redirect_status(answer(302, URL), [301, 308])


def test_post_redirect_must_keep_the_method():
    https.check_redirect_method(answer(307, URL, method="POST"))
    https.check_redirect_method(answer(308, URL, method="POST"))
    with pytest.raises(Violation) as info:
        https.check_redirect_method(answer(301, URL, method="POST"))
    assert "resends it as GET" in info.value.actual and "answers 307 to POST" in info.value.render()


def test_redirect_target_keeps_host_path_and_query():
    https.check_redirect_target(answer(301, URL), URL)
    https.check_redirect_target(answer(301, "https://www.example.test:443/deep/link?utm=1&x=2"), URL)


@pytest.mark.parametrize("location, difference", [
    ("https://www.example.test/deep/link", "query '' instead of 'utm=1&x=2'"),
    ("https://www.example.test/", "path / instead of /deep/link"),
    ("https://d111.cloudfront.net/deep/link?utm=1&x=2", "host d111.cloudfront.net instead of www.example.test"),
    ("http://www.example.test/deep/link?utm=1&x=2", "scheme http"),
])
def test_redirect_target_names_what_differs(location, difference):
    with pytest.raises(Violation) as info:
        https.check_redirect_target(answer(301, location), URL)
    assert difference in info.value.actual


def test_hsts_long_enough_passes_and_short_or_missing_fails():
    https.check_hsts(answer(200, hsts="max-age=63072000; includeSubDomains", scheme="https"), 31536000)
    with pytest.raises(Violation, match="max-age=300"):
        https.check_hsts(answer(200, hsts="max-age=300", scheme="https"), 31536000)
    with pytest.raises(Violation, match="without Strict-Transport-Security"):
        https.check_hsts(answer(200, scheme="https"), 31536000)
    with pytest.raises(Violation):
        https.check_hsts(answer(200, hsts="includeSubDomains", scheme="https"), 31536000)  # no max-age at all


def test_hsts_missing_on_the_api_behavior_names_the_behavior_not_errors():
    with pytest.raises(Violation) as info:
        https.check_hsts(answer(200, scheme="https"), 31536000, behavior="/api/*")
    rendered = info.value.render()
    assert "every /api/* answer lacks it, not only errors" in rendered
    assert "attach the same response headers policy" in rendered


def test_hsts_on_errors_needs_an_error_and_does_not_blame_the_provoked_error():
    https.check_hsts_on_error(answer(404, hsts="max-age=63072000", scheme="https"), 31536000)
    with pytest.raises(Violation) as info:
        https.check_hsts_on_error(answer(403, body="<Error><Code>AccessDenied</Code></Error>", scheme="https"), 31536000)
    rendered = info.value.render()
    assert "for error responses" in rendered and "S3 denied" not in rendered


def cert(**fields):
    base = dict(host="www.example.test", verified=True, protocol="TLSv1.3", subject_names=["www.example.test"],
                issuer="CN=Amazon RSA 2048 M02", not_after=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=90),
                reproduce="openssl s_client -connect 127.0.0.1:443 -servername www.example.test")
    return TlsInfo(**{**base, **fields})


def test_certificate_rules_pass_on_a_good_certificate():
    https.check_certificate(cert())
    https.check_certificate_expiry(cert(), 14)


def test_wrong_name_and_untrusted_chain_are_told_apart():
    with pytest.raises(Violation) as wrong:
        https.check_certificate(cert(verified=False, verify_error="Hostname mismatch", subject_names=["other.test"]))
    assert "names other.test, not www.example.test" in wrong.value.render()
    with pytest.raises(Violation) as untrusted:
        https.check_certificate(cert(verified=False, verify_error="unable to get local issuer certificate"))
    assert "does not lead to a trusted CA" in untrusted.value.render()
    assert "Reproduce: openssl s_client" in untrusted.value.render()


def test_a_leaf_sent_without_its_intermediate_names_the_chain_first_and_is_final():
    with pytest.raises(Violation) as alone:
        https.check_certificate(cert(verified=False, verify_error="unable to get local issuer certificate",
                                     chain_sent=("CN=www.example.test",)))
    text = alone.value.render()
    assert "(1) the edge sends its leaf certificate alone, without the intermediate" in text
    assert text.index("without the intermediate") < text.index("--ca-bundle")  # the chain first, the bundle last
    assert "the edge sends 1 certificate(s)" in text and alone.value.final
    with pytest.raises(Violation) as untrusted:  # leaf and intermediate sent: the root is what is not trusted
        https.check_certificate(cert(verified=False, verify_error="unable to get local issuer certificate",
                                     chain_sent=("CN=www.example.test", "CN=Some Intermediate")))
    assert "does not lead to a trusted CA" in untrusted.value.render() and not untrusted.value.final


def test_expiring_certificate_fails_with_days_left():
    soon = cert(not_after=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5))
    with pytest.raises(Violation, match=r"4\.\d days left|5\.0 days left"):
        https.check_certificate_expiry(soon, 14)


def test_legacy_tls_accepted_is_an_advisory():
    https.check_tls_legacy(cert(protocol=None), "TLSv1")
    with pytest.raises(Violation) as info:
        https.check_tls_legacy(cert(protocol="TLSv1"), "TLSv1")
    assert info.value.advisory and "TLSv1.2_2021" in info.value.render()


def test_release_marker_served_or_the_old_one_named():
    page = '<meta name="release" content="build-7-new">'
    check_release_marker(Exchange("GET", "https://www.example.test/", status=200, body=page.encode()), "build-7-new")
    old = Exchange("GET", "https://www.example.test/", status=200, body=page.replace("new", "old").encode())
    with pytest.raises(Violation) as info:
        check_release_marker(old, "build-7-new")
    assert "serving 'build-7-old' instead" in info.value.actual


def test_head_served_while_get_redirects_is_not_blamed_on_allow_all():
    def http(method, status, **headers):
        return Exchange(method, "http://www.example.test/x", status=status, headers=list(headers.items()))

    with pytest.raises(Violation) as only:
        https.check_redirect_status(http("HEAD", 200), [301], http("GET", 301, Location="https://www.example.test/x"))
    text = only.value.render()
    assert "only HEAD is served over plain HTTP while GET is redirected" in text and "allow-all:" not in text
    with pytest.raises(Violation) as both:
        https.check_redirect_status(http("HEAD", 200), [301], http("GET", 200))
    assert "ViewerProtocolPolicy is allow-all" in both.value.render()
