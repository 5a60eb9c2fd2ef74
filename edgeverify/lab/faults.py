"""The fault catalogue: each name imitates one CloudFront, S3 or API Gateway misconfiguration."""
from __future__ import annotations

from collections.abc import Iterable

# Every fault is passed to the origins in X-Lab-Faults; those they do not know are the edge's (nginx config).
FAULTS: dict[str, str] = {
    # https
    "http-no-redirect": "ViewerProtocolPolicy allow-all: plain HTTP serves content with 200 instead of redirecting",
    "http-head-served": "a function answers HEAD over plain HTTP before the redirect: GET redirects, HEAD gets 200",
    "redirect-302": "HTTP→HTTPS redirect uses 302 instead of 301",
    "redirect-post-301": "HTTP→HTTPS redirect answers POST and other methods 301 (the browser retries as GET)",
    "redirect-drops-query": "HTTP→HTTPS redirect Location loses the query string",
    "redirect-drops-path": "HTTP→HTTPS redirect always goes to https://<host>/, dropping path and query",
    "redirect-wrong-host": "HTTP→HTTPS redirect goes to the distribution's d111111abcdef8.cloudfront.net name",
    "hsts-missing": "no Strict-Transport-Security header (no response headers policy)",
    "hsts-short": "Strict-Transport-Security max-age=300 only",
    "hsts-missing-api": "the response headers policy with HSTS is on the default behavior only: no /api/* answer has it",
    "hsts-missing-on-errors": "Strict-Transport-Security only on 2xx/3xx responses, missing on errors",
    "cert-wrong-name": "certificate issued for other.example.test only (alias missing from the ACM certificate)",
    "cert-expiring": "certificate valid for only 5 more days (renewal failed)",
    "cert-untrusted": "certificate signed by a CA outside the trust store / CA bundle",
    "cert-no-intermediate": "the edge sends its leaf certificate alone, without the intermediate that links it to the root",
    "tls-legacy": "security policy TLSv1 (2016): TLS 1.0 and 1.1 handshakes accepted",
    # static
    "asset-missing": "index.html references a script chunk that was never uploaded to the bucket",
    "script-wrong-type": "JavaScript objects uploaded with Content-Type: text/plain",
    "css-wrong-type": "CSS objects uploaded with Content-Type: text/plain",
    "compression-off": "behavior Compress=false: no gzip/br for compressible objects",
    "no-validators": "ETag and Last-Modified stripped at the edge, so conditional GETs never get 304",
    "etag-unstable": "index.html is regenerated per request: a new ETag every time, so If-None-Match never matches",
    "leaky-headers": "stack-revealing headers: X-Powered-By: Express and a versioned Server header",
    "mixed-content": "index.html loads its script and stylesheet over http:// (blocked by browsers on an https page)",
    "encoding-mislabelled": "JavaScript objects stored gzip-compressed with Content-Encoding: br metadata (the bytes are not br)",
    "asset-truncated": "the stylesheet's origin promises more bytes (Content-Length) than it sends, every time",
    "docs-no-index": "no directory-index function: /docs/ reaches S3 as the key docs/ and gets 403 AccessDenied",
    # api
    "post-not-allowed": "/api/* AllowedMethods GET, HEAD, OPTIONS only: POST etc. get CloudFront's 403 method error",
    "api-origin-down": "API origin unreachable: /api/* answers 502 with X-Cache: Error from cloudfront",
    "api-cached": "/api/* cache policy MinTTL 60 s: GETs cached even with no-store (same nonce twice, Hit)",
    "api-origin-path-doubled": "API origin path /prod plus the /api prefix: API Gateway answers Missing Authentication Token",
    "api-host-forwarded": "viewer Host header forwarded to API Gateway (AllViewer policy): 403 Forbidden",
    "api-origin-timeout": "the API origin answers after the origin response timeout: CloudFront's 504 page",
    "lambda-edge-error": "the origin-request Lambda@Edge function on /api/* fails: 503 page, X-Cache: LambdaExecutionError",
    "waf-blocks-api": "an AWS WAF rule blocks /api/*: CloudFront's 403 'Request blocked.' page",
    "waf-custom-block-api": "an AWS WAF rule blocks /api/* with a custom response: 400 and the site's own block page",
    "apigw-throttled": "API Gateway throttles every call: 429 Too Many Requests (TooManyRequestsException)",
    "apigw-timeout": "the API's Lambda outlives API Gateway's integration timeout: 504 Endpoint request timed out",
    "apigw-http-timeout": "an HTTP API whose integration times out: 503 Service Unavailable with apigw-requestid",
    "geo-blocked": "geographic restriction blocks the viewer's country: CloudFront's 403 geo page for every path",
    # cache
    "assets-not-cached": "fingerprinted assets sent with Cache-Control: max-age=60, not long-lived/immutable",
    "html-cached-long": "index.html sent with Cache-Control: public, max-age=31536000, immutable",
    "cache-conflicting": "index.html sent with conflicting Cache-Control: no-store, max-age=600",
    "assets-not-edge-cached": "default behavior uses CachingDisabled: every asset request goes to S3 (X-Cache: Miss)",
    "api-no-cache-control": "the API's Lambda sends no Cache-Control header",
    "date-skewed": "the static origin's clock runs 2 minutes behind: its Date header is passed through",
    # cors
    "cors-reflect-any": "API reflects any Origin in Access-Control-Allow-Origin, with credentials",
    "cors-allow-null": "API admits the Origin 'null'",
    "cors-lookalike": "API checks Origin with an unanchored regex: admits look-alike hosts such as evilexample.test",
    "cors-http-origin": "API admits the http:// form of the allowed HTTPS origins",
    "cors-wildcard-credentials": "API sends Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true",
    "cors-no-vary": "API sends a per-origin Access-Control-Allow-Origin without Vary: Origin",
    "cors-double-acao": "Access-Control-Allow-Origin sent twice (a response headers policy and the Lambda both add it)",
    "cors-acao-list": "API sends its whole allow-list as one Access-Control-Allow-Origin value (a comma-separated list)",
    "cors-missing-header": "the preflight's Access-Control-Allow-Headers lacks content-type",
    "cors-missing-method": "the preflight's Access-Control-Allow-Methods lacks PUT",
    "preflight-blocked": "/api/* AllowedMethods lack OPTIONS: preflights get CloudFront's 403 method error",
    # spa
    "no-spa-fallback": "no SPA fallback: deep links get S3's 403 AccessDenied",
    "spa-fallback-all": "distribution-wide custom error responses 403/404 → /index.html 200, also for assets and /api",
    "spa-swallows-api-errors": "API 403/404 errors turned into 200 /index.html by custom error responses",
    "post-root-shell": "POST / answers 200 with the app shell (all methods allowed + 405 → /index.html)",
    # browser: every HTTP answer looks right; only a browser running the app sees the fault
    "route-chunk-html": "the lazily imported route chunk (assets/route.*.js) uploaded with Content-Type: text/html: "
                        "the browser refuses the module script, the app never renders",
    "csp-blocks-bundle": "a response headers policy's Content-Security-Policy allows scripts only from "
                         "https://assets.example.test: the browser blocks the app's own bundle",
    "config-relative": "index.html built with a relative base (config.json, not /config.json): on a nested deep link "
                       "the app asks /settings/config.json, gets S3's 403 and throws before rendering",
    # http3
    "h3-not-served": "HttpVersion http2and3 advertised (Alt-Svc: h3) but nothing answers HTTP/3 on UDP 443 "
                     "(a firewall or network path dropping QUIC)",
    # ipv6
    "ipv6-not-served": "the domain advertises IPv6 (an AAAA alias record, IsIPV6Enabled) but the edge does not answer "
                       "over IPv6 (the lab's nginx does not listen on ::1)",
    "config-stale": "/config.json is the previous release's (uploaded without invalidation): the app logs a console "
                    "error about the release mismatch",
    # security (the response headers policy, cookies, subresource integrity, exposure)
    "csp-missing": "no Content-Security-Policy (the managed SecurityHeadersPolicy alone sends none)",
    "csp-unsafe-inline": "the Content-Security-Policy's script-src allows 'unsafe-inline' without nonces or hashes",
    "framing-allowed": "neither X-Frame-Options nor a CSP frame-ancestors directive: any site may frame the app",
    "nosniff-missing-assets": "the /assets/* behavior has no response headers policy: assets lack X-Content-Type-Options",
    "referrer-unsafe": "Referrer-Policy: unsafe-url (full URLs, query included, leak to every other site)",
    "cookie-insecure": "the viewer-response function sets its session cookie without Secure, HttpOnly and SameSite",
    "sri-missing": "index.html loads a script from a public CDN without an integrity attribute",
    "coop-corp-missing": "no Cross-Origin-Opener-Policy or Cross-Origin-Resource-Policy header",
    "source-maps-public": "the bundles' source maps (with the source text) were uploaded with them and are served",
    "bucket-listing": "no DefaultRootObject and s3:ListBucket granted: / answers the bucket's ListBucketResult",
    "dotfiles-served": "aws s3 sync uploaded .env, .DS_Store and .git/ with the build, and they are served",
    "assets-after-index": "the deploy uploads index.html before its new chunks: they answer 403 for a while "
                          "(for good without --old-release-for)",
    "previous-release-deleted": "aws s3 sync --delete removed the previous release's assets while its index.html "
                                "is still open in browsers",
    "sw-stale": "the app's service worker serves index.html cache-first from a cache that never changes, and /sw.js "
                "is uploaded with Cache-Control: public, max-age=31536000: open tabs keep the previous release",
    "api-errors-no-cors": "API Gateway's gateway responses (DEFAULT_4XX/DEFAULT_5XX) carry no CORS headers",
    "origin-public": "the origins answer anyone asking them directly, around CloudFront: a public bucket (Block Public "
                     "Access off, website hosting on) and an execute-api URL that checks no origin header",
}


def validate(faults: Iterable[str]) -> frozenset[str]:
    """Return the faults as a frozenset, or raise ValueError naming the unknown ones."""
    chosen = frozenset(f.strip() for f in faults if f.strip())
    unknown = sorted(chosen - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown lab fault(s): {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    return chosen
