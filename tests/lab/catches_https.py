"""What the https suite must catch on each lab fault (used by the fault matrix)."""

# fault -> {rule that must fail: text its message must contain}
CATCHES = {
    "http-no-redirect": {"https.redirect_status": "ViewerProtocolPolicy is allow-all",
                         "https.redirect_method": "not redirected, handled over plain HTTP",
                         "https.redirect_target": "without a Location header"},
    "http-head-served": {"https.redirect_status": "only HEAD is served over plain HTTP while GET is redirected"},
    "redirect-302": {"https.redirect_status": "Actual:   302"},
    "redirect-post-301": {"https.redirect_method": "301 Moved Permanently: the client resends it as GET"},
    "redirect-drops-query": {"https.redirect_target": "query '' instead of"},
    "redirect-drops-path": {"https.redirect_target": "path / instead of"},
    "redirect-wrong-host": {"https.redirect_target": "host d111111abcdef8.cloudfront.net instead of www.example.test"},
    "hsts-missing": {"https.hsts": "without Strict-Transport-Security"},
    "hsts-short": {"https.hsts": "max-age=300"},
    "hsts-missing-api": {"https.hsts": "so every /api/* answer lacks it, not only errors"},
    "hsts-missing-on-errors": {"https.hsts_on_errors": "403 Forbidden without Strict-Transport-Security"},
    "cert-wrong-name": {"https.cert_valid": "names other.example.test, not www.example.test"},
    "cert-expiring": {"https.cert_expiry": "days left"},
    "cert-untrusted": {"https.cert_valid": "does not lead to a trusted CA"},
    "cert-no-intermediate": {"https.cert_valid": "sends its leaf certificate alone, without the intermediate"},
    "tls-legacy": {"https.tls_legacy": "handshake accepted"},
}
