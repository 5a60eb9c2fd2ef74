"""cache-suite faults the lab can inject -> {rule that must fail: text its message must contain}."""

CATCHES = {
    "assets-not-cached": {"cache.immutable_assets": "Cache-Control: max-age=60"},
    "html-cached-long": {"cache.html_revalidated": "Cache-Control: public, max-age=31536000, immutable"},
    "cache-conflicting": {"cache.header_hygiene": "no-store conflicts with max-age"},
    "api-cached": {"cache.api_never_hit": "X-Cache: Hit from cloudfront"},
    "assets-not-edge-cached": {"cache.asset_edge_hit": "X-Cache: Miss from cloudfront"},
    "api-no-cache-control": {"cache.api_not_cached": "200 OK, no Cache-Control"},
    "date-skewed": {"cache.date_accurate": "The server's clock is 2 minutes behind"},
}
