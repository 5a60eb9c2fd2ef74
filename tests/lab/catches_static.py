"""static-suite faults the lab can inject -> {rule that must fail: text its message must contain}."""

CATCHES = {
    "asset-missing": {"static.served": "/assets/chunk.", "static.head": "403 Forbidden"},
    "script-wrong-type": {"static.media_type": "text/plain instead of text/javascript"},
    "css-wrong-type": {"static.media_type": "text/plain instead of text/css"},
    "compression-off": {"static.compressed": "sent uncompressed (no Content-Encoding)"},
    "no-validators": {"static.validators": "neither ETag nor Last-Modified",
                      "static.conditional_get": "no ETag or Last-Modified to revalidate with"},
    "etag-unstable": {"static.conditional_get": "the ETag changes on every response, confirmed by the ETags seen"},
    "leaky-headers": {"static.leaky_headers": "X-Powered-By: Express"},  # advisory: needs --strict-advisories
    "mixed-content": {"static.mixed_content": "loads http://www.example.test/assets/app."},
    "encoding-mislabelled": {"static.body_intact": "labelled Content-Encoding: br, but its body is not br"},
    "asset-truncated": {"static.body_intact": "fewer bytes than the Content-Length it promises"},
    "docs-no-index": {"static.served": "CloudFront's DefaultRootObject applies only to /"},
    # Every request is refused, so the run's release gate fails first and names the cause.
    "geo-blocked": {"propagation.release": "geographic restriction blocks the viewer's country"},
}
