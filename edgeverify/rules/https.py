"""https: HTTP redirects to HTTPS on the same host, HSTS everywhere, a valid certificate, modern TLS."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..errors import CouldNotJudge
from ..exchange import Exchange, TlsInfo
from . import Violation, expect, responded, rule

VIEWER_POLICY = ("set the behavior's ViewerProtocolPolicy to redirect-to-https (CloudFront then answers 301 "
                 "keeping host, path and query)")

REDIRECT_STATUS = rule(
    "https.redirect_status",
    "An http:// GET or HEAD answers a permanent redirect (301 or 308)",
    "Plain HTTP exposes the first request to tampering; a temporary (302/307) redirect is not cached by "
    "browsers, so every visit pays the round trip and search engines keep the http:// URL.",
    "CloudFront ViewerProtocolPolicy; Mozilla HTTP Observatory 'redirection'",
    threshold="301 or 308 (https.redirect_statuses)",
)
REDIRECT_METHOD = rule(
    "https.redirect_method",
    "An http:// POST answers 307 or 308, which keep the method and the body",
    "Browsers and most clients turn a POST that meets a 301 or 302 into a GET without its body: the form or API "
    "call is silently lost. CloudFront's own redirect-to-https answers 307 to every method but GET and HEAD; a "
    "function or origin redirect that answers 301 to everything is the usual culprit.",
    "RFC 9110 section 15.4; CloudFront ViewerProtocolPolicy",
    threshold="307 or 308",
)
REDIRECT_TARGET = rule(
    "https.redirect_target",
    "The redirect's Location is https:// on the same host with the same path and query",
    "The Observatory requires the first hop to stay on the host (HSTS is only set there), and a redirect that "
    "drops the path or the query breaks every deep link and tracking parameter. Use CloudFront's own "
    "redirect-to-https rather than a function or origin redirect that rebuilds the URL.",
    "Mozilla HTTP Observatory 'redirection'; CloudFront ViewerProtocolPolicy",
)
HSTS = rule(
    "https.hsts",
    "HTTPS responses carry Strict-Transport-Security with a long max-age",
    "Without HSTS a browser tries http:// first on every new visit, where an attacker can intercept it. "
    "Add a response headers policy with Strict-Transport-Security (max-age=63072000; includeSubDomains) "
    "to every behavior, with origin override on.",
    "RFC 6797; Mozilla HTTP Observatory (>= 15768000); webhint strict-transport-security",
    threshold="max-age >= 31536000 s (https.hsts_min_max_age)",
)
HSTS_ON_ERRORS = rule(
    "https.hsts_on_errors",
    "Error responses (403/404) carry Strict-Transport-Security too",
    "A browser's first response from the domain may be an error; HSTS must be on it as well. Headers added only "
    "on success (nginx add_header without 'always', a Lambda@Edge that skips errors) leave a gap; a CloudFront "
    "response headers policy applies to errors too.",
    "RFC 6797 section 7.1",
)
CERT_VALID = rule(
    "https.cert_valid",
    "The certificate chain verifies against the trust store and names the domain",
    "Browsers refuse the site outright. Attach an ACM certificate (in us-east-1) whose names cover the domain "
    "to the distribution's ViewerCertificate, and list the domain in its Aliases.",
    "RFC 6125; CloudFront ViewerCertificate",
)
CERT_EXPIRY = rule(
    "https.cert_expiry",
    "The certificate has more than the minimum number of days left",
    "An expired certificate takes the whole site down. ACM renews DNS-validated certificates automatically: a "
    "certificate this close to expiry is imported, or its validation records are gone.",
    "Certificate monitors warn at 30 days and alarm at 14",
    threshold="more than 14 days left (https.cert_min_days)",
)
TLS_LEGACY = rule(
    "https.tls_legacy",
    "TLS 1.0 and 1.1 handshakes are refused",
    "TLS 1.0/1.1 are deprecated (RFC 8996) and fail PCI DSS; set the distribution's security policy "
    "(ViewerCertificate.MinimumProtocolVersion) to TLSv1.2_2021.",
    "RFC 8996; CloudFront security policies",
    severity="advisory",
)


def check_redirect_status(ex: Exchange, statuses: list[int], other: Exchange | None = None) -> None:
    """`other`: the same kind of request with the other method (GET for a HEAD), to tell a behavior that
    serves plain HTTP (both served) from something answering one method before the redirect."""
    allowed = " or ".join(map(str, statuses))
    responded(REDIRECT_STATUS, ex, f"{allowed} to https://")
    if 200 <= (ex.status or 0) < 300:
        redirected = other if other is not None and 300 <= (other.status or 0) < 400 else None
        cause = (f"only {ex.method} is served over plain HTTP while {redirected.method} is redirected "
                 f"({redirected.status_line}): CloudFront's redirect-to-https answers every method alike, so the "
                 f"ViewerProtocolPolicy is not the cause; something answers {ex.method} before it (a CloudFront "
                 f"Function or Lambda@Edge that handles {ex.method} itself, or an origin rule)"
                 if redirected is not None else "the behavior's ViewerProtocolPolicy is allow-all: " + VIEWER_POLICY)
        raise Violation(REDIRECT_STATUS, f"{allowed} redirect to https://",
                        f"{ex.status_line}: content served over plain HTTP", ex, cause=cause,
                        extra=[redirected] if redirected is not None else None)
    expect(ex.status in statuses, REDIRECT_STATUS, f"{allowed} redirect to https://", ex.status_line, ex,
           cause="the redirect is not CloudFront's own (a function or the origin redirects with "
                 f"{ex.status}): " + VIEWER_POLICY)


def check_redirect_method(ex: Exchange) -> None:
    expected = f"307 or 308 redirect of the {ex.method} to https://"
    responded(REDIRECT_METHOD, ex, expected)
    if ex.status in (301, 302, 303):
        raise Violation(REDIRECT_METHOD, expected, f"{ex.status_line}: the client resends it as GET, without its body",
                        ex, cause="a CloudFront Function, Lambda@Edge or the origin redirects every method with "
                                  f"{ex.status}: use the behavior's redirect-to-https, which answers 307 to {ex.method}")
    expect(ex.status in (307, 308), REDIRECT_METHOD, expected, f"{ex.status_line}: not redirected, handled over plain HTTP",
           ex, diagnose=False, cause="the behavior's ViewerProtocolPolicy is allow-all: " + VIEWER_POLICY)


def check_redirect_target(ex: Exchange, expected_url: str) -> None:
    responded(REDIRECT_TARGET, ex, f"Location: {expected_url}")
    location = ex.header("location")
    expect(location is not None, REDIRECT_TARGET, f"Location: {expected_url}",
           f"{ex.status_line} without a Location header", ex, cause="the behavior does not redirect: " + VIEWER_POLICY)
    got, want = urlsplit(location or ""), urlsplit(expected_url)
    differences = []
    if got.scheme != "https":
        differences.append(f"scheme {got.scheme or '(none)'}")
    if (got.hostname or "").lower() != (want.hostname or "").lower() or got.port not in (None, 443):
        differences.append(f"host {got.netloc or '(none)'} instead of {want.netloc}")
    if got.path != want.path:
        differences.append(f"path {got.path or '(none)'} instead of {want.path}")
    if got.query != want.query:
        differences.append(f"query '{got.query}' instead of '{want.query}'")
    expect(not differences, REDIRECT_TARGET, f"Location: {expected_url}",
           f"Location: {location} ({'; '.join(differences)})", ex,
           cause="something other than CloudFront's redirect-to-https rebuilds the URL (a CloudFront Function, "
                 "Lambda@Edge, an S3 website redirect rule or the origin): " + VIEWER_POLICY)


def hsts_max_age(ex: Exchange) -> int | None:
    """The max-age of the first Strict-Transport-Security header, or None when absent or malformed."""
    values = ex.header_values("strict-transport-security")
    match = re.search(r"(?i)max-age\s*=\s*\"?(\d+)", values[0] if values else "")
    return int(match.group(1)) if match else None


def check_hsts(ex: Exchange, minimum: int, rule_=HSTS, behavior: str | None = None) -> None:
    """`behavior`: the cache behavior's path pattern when the answer stands for a whole behavior (the API's)."""
    responded(rule_, ex, f"Strict-Transport-Security: max-age>={minimum}")
    header = ex.header("strict-transport-security")
    age = hsts_max_age(ex)
    on_error = rule_ is HSTS_ON_ERRORS  # the error was provoked on purpose: its signature is no cause
    cause = ("no response headers policy adds Strict-Transport-Security to this behavior" +
             (" for error responses" if rule_ is HSTS_ON_ERRORS else ""))
    if behavior:
        cause = (f"the {behavior} behavior has no response headers policy with Strict-Transport-Security (it is "
                 f"attached to the default behavior only), so every {behavior} answer lacks it, not only errors: "
                 f"attach the same response headers policy (SecurityHeadersPolicy) to the {behavior} behavior")
    expect(header is not None, rule_, f"Strict-Transport-Security with max-age >= {minimum}",
           f"{ex.status_line} without Strict-Transport-Security", ex, diagnose=not on_error, cause=cause)
    expect(age is not None and age >= minimum, rule_, f"Strict-Transport-Security with max-age >= {minimum}",
           f"Strict-Transport-Security: {header}", ex, diagnose=not on_error,
           cause="the response headers policy sets a short or malformed max-age: use 63072000 (two years)")


def check_hsts_on_error(ex: Exchange, minimum: int) -> None:
    expect(ex.status is None or ex.status >= 400, HSTS_ON_ERRORS, "an error status for a missing object",
           f"{ex.status_line} (the probe found no error to inspect)", ex)
    check_hsts(ex, minimum, HSTS_ON_ERRORS)


def check_certificate(info: TlsInfo) -> None:
    expected = f"a certificate for {info.host} that verifies against the trust store"
    if info.error:
        raise Violation(CERT_VALID, expected, f"no TLS handshake: {info.error}",
                        cause="nothing answers TLS on port 443 there, or the handshake is refused",
                        reproduce=info.reproduce)
    names = ", ".join(info.subject_names) or "(none)"
    if not info.verified:
        error = (info.verify_error or "").lower()
        name_problem = "hostname" in error or "mismatch" in error
        # The chain the edge sends is the evidence: a leaf alone whose issuer is not in the trust store lacks its
        # intermediate (public CAs never issue leaves from a root), a fault no propagation and no --ca-bundle fixes.
        leaf_alone = (len(info.chain_sent) == 1 and not name_problem
                      and ("local issuer" in error or "verify the first certificate" in error))
        sent = f"; the edge sends {len(info.chain_sent)} certificate(s)" if info.chain_sent else ""
        if name_problem:
            cause = (f"the certificate names {names}, not {info.host}: attach a certificate covering {info.host} and "
                     f"add {info.host} to the distribution's Aliases")
        elif leaf_alone:
            cause = (f"one of, most likely first: (1) the edge sends its leaf certificate alone, without the "
                     f"intermediate CA certificate that links it to a trusted root (issuer: {info.issuer}): clients "
                     f"that have not cached that intermediate (curl, apps, fresh browsers) fail; import the "
                     f"certificate into ACM with its certificate chain (--certificate-chain), or use an ACM-issued "
                     f"certificate [to tell: `openssl s_client -showcerts` lists one certificate, and {info.issuer} "
                     f"is an intermediate of a public CA]; (2) {info.issuer} is a private root you operate, outside "
                     f"the trust store [to tell: you issued it yourself; only then pass it with --ca-bundle]")
        else:
            cause = (f"the chain does not lead to a trusted CA (issuer: {info.issuer}): use an ACM certificate, or "
                     f"give the CA bundle with --ca-bundle if this is a private CA")
        violation = Violation(CERT_VALID, expected, f"verification failed: {info.verify_error}; names {names}; "
                              f"issuer {info.issuer}{sent}", cause=cause, reproduce=info.reproduce)
        violation.final = leaf_alone  # the chain the edge sends does not change by waiting for propagation
        raise violation


def check_certificate_expiry(info: TlsInfo, min_days: int) -> None:
    days = info.days_left()
    expect(days is not None, CERT_EXPIRY, f"a certificate valid for more than {min_days} days",
           f"no certificate seen ({info.error or info.verify_error})", reproduce=info.reproduce)
    expect(days is not None and days > min_days, CERT_EXPIRY, f"more than {min_days} days before expiry",
           f"{days:.1f} days left (not after {info.not_after:%Y-%m-%d %H:%M} UTC, names "
           f"{', '.join(info.subject_names)})" if days is not None else "unknown",
           cause="the certificate is not renewing: ACM renews only DNS-validated certificates in use whose "
                 "validation CNAMEs still exist; an imported certificate must be re-imported",
           reproduce=info.reproduce)


def check_tls_legacy(info: TlsInfo, version: str, baseline: TlsInfo | None = None) -> None:
    """A legacy handshake is refused; judged only when a modern handshake (`baseline`) succeeds there."""
    if baseline is not None and baseline.error:
        raise CouldNotJudge(f"could not judge: no TLS handshake at all ({baseline.error}), so a refused {version} "
                            "handshake says nothing")
    expect(info.protocol is None, TLS_LEGACY, f"{version} handshake refused",
           f"{version} handshake accepted ({info.protocol})",
           cause="the distribution's security policy allows legacy TLS: set MinimumProtocolVersion TLSv1.2_2021",
           reproduce=info.reproduce)
