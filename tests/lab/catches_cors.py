"""What the cors suite must report for each lab fault it catches: fault -> {rule id: text its message contains}."""

CATCHES = {
    "cors-reflect-any": {"cors.refuses_foreign": "(reflection) admitted"},
    "cors-allow-null": {"cors.refuses_foreign": "null (null) admitted"},
    "cors-lookalike": {"cors.refuses_foreign": "https://www.example.test.evil.test (prefix) admitted"},
    "cors-http-origin": {"cors.refuses_foreign": "http://app.example.test (http) admitted"},
    "cors-wildcard-credentials": {"cors.wildcard_credentials": "Access-Control-Allow-Origin: *, "
                                                               "Access-Control-Allow-Credentials: true",
                                  "cors.preflight": "browsers refuse * for credentialed requests",
                                  "cors.actual_request": "browsers refuse * for credentialed requests"},
    "cors-no-vary": {"cors.vary_origin": "with no Vary"},
    "preflight-blocked": {"cors.preflight": "does not allow OPTIONS"},
    "cors-double-acao": {"cors.preflight": "Access-Control-Allow-Origin is sent 2 times",
                         "cors.actual_request": "Access-Control-Allow-Origin: https://app.example.test, https://app.example.test"},
    "cors-acao-list": {"cors.preflight": "holds a comma-separated list",
                       "cors.actual_request": "holds a comma-separated list"},
    "cors-missing-header": {"cors.preflight": "lacks content-type"},
    "cors-missing-method": {"cors.preflight": "lacks PUT"},
    # The real POST from an allowed origin meets CloudFront's method error, which carries no CORS headers.
    "post-not-allowed": {"cors.actual_request": "does not allow POST"},
    # A cache policy that caches /api/* without Origin in the key: the copy stored for a request without
    # Origin is served to the CORS request.
    "api-cached": {"cors.cache_key": "the copy cached for the request without Origin"},
}
