"""What the security suite must report for each lab fault it catches: fault -> {rule id: text its message contains}."""

CATCHES = {
    "csp-missing": {"security.csp_present": "GET /: 200 OK without Content-Security-Policy",
                    "security.grade": "csp-not-implemented (-25)"},
    "csp-unsafe-inline": {"security.csp_safe": "script-src allows 'unsafe-inline' without nonces or hashes",
                          "security.grade": "csp-implemented-with-unsafe-inline (-20)"},
    "framing-allowed": {"security.framing": "no X-Frame-Options and no CSP frame-ancestors",
                        "security.csp_safe": "no frame-ancestors"},
    # The Observatory looks at / only: an /assets/* behavior without the policy keeps its grade (A+).
    "nosniff-missing-assets": {"security.nosniff": "asset GET /assets/"},
    "referrer-unsafe": {"security.referrer_policy": "Referrer-Policy unsafe-url (unsafe)"},
    "cookie-insecure": {"security.cookies": "cookie lab_session set by document GET /: no Secure, no HttpOnly, "
                                            "no SameSite",
                        "security.grade": "cookies-session-without-httponly-flag (-30)"},
    "sri-missing": {"security.sri": "lodash.min.js without integrity"},
    "coop-corp-missing": {"security.isolation": "no Cross-Origin-Opener-Policy and no Cross-Origin-Resource-Policy"},
    "source-maps-public": {"security.source_maps": "a source map with the source text (sourcesContent)"},
    "bucket-listing": {"security.bucket_listing": "an S3 ListBucketResult"},
    "dotfiles-served": {"security.dotfiles": "GET /.env: 200 OK"},
    "origin-public": {"security.origin_direct": "S3 REST endpoint entry document: GET "
                                                "https://lab-site.s3.us-east-1.amazonaws.com/index.html -> 200 OK, "
                                                "the same "},
    "api-errors-no-cors": {"security.api_errors_cors": "(MissingAuthenticationTokenException), no "
                                                       "Access-Control-Allow-Origin"},
}
