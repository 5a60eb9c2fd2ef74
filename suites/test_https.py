"""https: HTTP redirects to HTTPS keeping host, path and query; HSTS; a valid certificate; modern TLS."""

import ssl

import pytest

from edgeverify.rules import https
from edgeverify.probes import error_probe_paths, unique_path


@pytest.mark.rule("https.redirect_status")
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_http_answers_a_permanent_redirect(edge, target, method):
    ex = edge.request(method, unique_path(), scheme="http")
    other = None
    if ex.status is not None and 200 <= ex.status < 300:  # served: does the other method redirect?
        other = edge.request("GET" if method == "HEAD" else "HEAD", unique_path(), scheme="http")
    https.check_redirect_status(ex, target.https.redirect_statuses, other)


@pytest.mark.rule("https.redirect_method")
def test_http_post_is_redirected_keeping_the_method(edge, target):
    if not getattr(target.https, "post_probe", True):
        pytest.skip("https.post_probe is false: the HTTP POST probe is not sent")
    # A POST to a probe path under the API prefix, sent once per run: on a correct edge it never reaches a
    # handler (the redirect answers it); on a broken one it is an unknown route.
    path = unique_path(target.api.prefix.rstrip("/") + "/__edgeverify/probe")
    https.check_redirect_method(edge.request("POST", path, scheme="http", data=b"{}"))


@pytest.mark.rule("https.redirect_target")
def test_redirect_keeps_host_path_and_query(edge, target):
    path = unique_path()
    https.check_redirect_target(edge.get(path, scheme="http"), target.url(path))


@pytest.mark.rule("https.hsts")
def test_hsts_on_every_page(edge, target, page):
    https.check_hsts(edge.fetch(page), target.https.hsts_min_max_age)


@pytest.mark.rule("https.hsts")
def test_hsts_on_api_answers(edge, target):
    # The API is a behavior of its own: a response headers policy on the default behavior does not cover it.
    call = next((c for c in target.api.calls if c.method.upper() == "GET" and c.may_repeat), None)
    if call is None:
        pytest.skip("no repeat-safe GET among api.calls to read the API behavior's headers from")
    https.check_hsts(edge.fetch(call.path), target.https.hsts_min_max_age, behavior=target.api.prefix + "*")


@pytest.mark.rule("https.hsts_on_errors")
def test_hsts_on_error_responses(edge, target):
    for ex in edge.fetch_all(error_probe_paths(target)):
        if ex.status >= 400:
            https.check_hsts_on_error(ex, target.https.hsts_min_max_age)
            return
    pytest.skip("no probe answered an error (the SPA fallback answers 200 everywhere); see the spa suite")


@pytest.mark.release_independent
@pytest.mark.rule("https.cert_valid")
def test_certificate_verifies_and_names_the_domain(edge):
    https.check_certificate(edge.tls_handshake())


@pytest.mark.release_independent
@pytest.mark.rule("https.cert_expiry")
def test_certificate_is_not_about_to_expire(edge, target):
    # the verified handshake (shared with cert_valid); an untrusted certificate is still described (the client
    # looks again without verifying), so its expiry is judged too
    info = edge.tls_handshake()
    if info.days_left() is not None:  # for --metrics (certificate days left) and the reports
        edge.data["properties"] = [("certificate_days_left", f"{info.days_left():.1f}")]
    https.check_certificate_expiry(info, target.https.cert_min_days)


@pytest.mark.release_independent
@pytest.mark.rule("https.tls_legacy")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["TLSv1.0", "TLSv1.1"])
def test_legacy_tls_is_refused(edge, version):
    https.check_tls_legacy(edge.tls_handshake(minimum=version, maximum=version, verify=False), version.name,
                           baseline=edge.tls_handshake())
