"""What the spa suite must report for each spa fault of the lab (with --strict-advisories):
fault -> {rule id: text its message contains}."""

CATCHES = {
    "no-spa-fallback": {"spa.deep_link": "no SPA fallback"},
    "spa-fallback-all": {"spa.asset_fallback": "200 OK text/html for the missing file",
                         "spa.api_errors_kept": "the app shell"},
    "spa-swallows-api-errors": {"spa.api_errors_kept": "the app shell"},
    "post-root-shell": {"spa.post_root": "200 OK text/html for POST /"},
}
