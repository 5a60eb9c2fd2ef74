"""Render the nginx config of one edge: a CloudFront distribution with an S3 and an API origin."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from . import pages
from .origins import API_HOST, S3_HOST, SECRET_HEADER, WEBSITE_HOST

ALL_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")
HSTS = "max-age=63072000; includeSubDomains"
GZIP_TYPES = ("text/css text/javascript application/javascript application/json application/manifest+json "
              "image/svg+xml text/plain application/xml")

# The edge's own answers are nginx `return` codes mapped by error_page to CloudFront's pages (see pages.py),
# which the static origin serves under /__cloudfront/ with `Server: CloudFront`.
EDGE_CODES = {"method": 460, "lambda": 461, "waf": 462, "geo": 463, "waf_custom": 464}


@dataclass(frozen=True)
class EdgeConfig:
    """Everything one nginx instance needs; all paths live under root."""

    root: Path
    http_port: int
    https_port: int
    static_port: int
    api_port: int
    cert: Path
    key: Path
    faults: frozenset[str]
    switch_at: float | None  # epoch seconds the static origin switches old -> new release
    via_id: str
    as_root: bool
    ipv6: bool = False  # also listen on [::1] (same ports): the edge serves IPv6 viewers
    alt_svc: bool = False  # advertise HTTP/3 (HttpVersion http2and3), served by the lab's aioquic front (quic.py)
    origin_secret: str = ""  # OriginCustomHeaders: sent to the origins, which refuse requests without it
    origin_cert: tuple[Path, Path] | None = None  # (chain, key) for the origins' AWS names: their public fronts


def _method_guard(allowed: tuple[str, ...]) -> str:
    # CloudFront answers methods outside a behavior's AllowedMethods itself, with its 403 page.
    return (f"if ($request_method !~ ^({'|'.join(allowed)})$) {{\n"
            f"    return {EDGE_CODES['method']};\n}}")


def _indent(block: str, by: int = 4) -> str:
    return "\n".join((" " * by + line) if line.strip() else line for line in block.splitlines())


def _proxy_headers(c: EdgeConfig, host: str, switch: bool) -> str:
    # proxy_set_header in a location replaces the inherited set, so each location gets the full list.
    # The X-Lab-* headers are always set, so a viewer cannot inject them.
    switch_at = "" if not switch or c.switch_at is None else ("inf" if math.isinf(c.switch_at) else f"{c.switch_at:.3f}")
    return f"""proxy_set_header Host {host};
proxy_set_header Connection "";
proxy_set_header Accept-Encoding "";
proxy_set_header Via "1.1 {c.via_id}.cloudfront.net (CloudFront)";
proxy_set_header X-Amz-Cf-Id $request_id;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Lab-Faults "{','.join(sorted(c.faults))}";
proxy_set_header X-Lab-Release-Switch-At "{switch_at}";""" + (
        f'\nproxy_set_header {SECRET_HEADER} "{c.origin_secret}";  # OriginCustomHeaders' if c.origin_secret else "")


def _error_pages(spa_fallback: bool, extra: str = "") -> str:
    # error_page in a location replaces inherited ones, so the 5xx pages are repeated everywhere.
    lines = ["error_page 502 /__cloudfront/origin;", "error_page 504 /__cloudfront/timeout;"]
    lines += [f"error_page {code} ={(pages.REASONS.get(name) or pages.CUSTOM[name])[0]} /__cloudfront/{name};"
              for name, code in EDGE_CODES.items()]
    if spa_fallback or extra:
        lines.append("proxy_intercept_errors on;")
    if spa_fallback:  # a custom error response: ErrorCode 403/404 -> /index.html, ResponseCode 200
        lines.append("error_page 403 404 =200 /index.html;")
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def _api_location(c: EdgeConfig) -> str:
    f = c.faults
    methods = tuple(m for m in ALL_METHODS
                    if not ("post-not-allowed" in f and m not in ("GET", "HEAD", "OPTIONS")
                            or "preflight-blocked" in f and m == "OPTIONS"))
    host = "$host" if "api-host-forwarded" in f else API_HOST  # AllViewerExceptHostHeader is correct
    parts = []
    if "waf-blocks-api" in f:  # a web ACL rule blocks /api/* before CloudFront looks further
        parts.append(f"return {EDGE_CODES['waf']};")
    if "waf-custom-block-api" in f:  # the same, with the rule's custom response (400 and the site's block page)
        parts.append(f"return {EDGE_CODES['waf_custom']};")
    if "lambda-edge-error" in f:  # the origin-request Lambda@Edge function on /api/* fails
        parts.append(f"return {EDGE_CODES['lambda']};")
    parts.append(_method_guard(methods))
    if "api-origin-timeout" in f:  # origin response timeout shorter than the origin takes
        parts.append("proxy_read_timeout 1s;")
    if "api-origin-path-doubled" in f:
        parts.append("rewrite ^(.*)$ /prod$1 break;  # origin path /prod + the /api prefix")
    parts += ["proxy_pass http://api_origin;", _proxy_headers(c, host, switch=False)]
    if "api-cached" in f:  # cache policy with MinTTL > 0: caches even no-store responses
        parts.append("proxy_cache edge;\nproxy_cache_key $scheme$host$uri$is_args$args;\n"
                     "proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;\nproxy_cache_valid 200 60s;")
    else:  # CachingDisabled
        parts.append("proxy_cache off;")
    parts.append(_error_pages("spa-fallback-all" in f or "spa-swallows-api-errors" in f))
    return "location /api/ {\n" + _indent("\n".join(parts)) + "\n}"


def _static_location(c: EdgeConfig) -> str:
    f = c.faults
    # post-root-shell: the default behavior allows all methods and S3's 405 is mapped to the shell.
    parts = [_method_guard(ALL_METHODS if "post-root-shell" in f else ("GET", "HEAD"))]
    if "bucket-listing" not in f:
        parts.append("rewrite ^/$ /index.html break;  # DefaultRootObject")
    if "docs-no-index" not in f:
        # A viewer-request function appends index.html to directory paths (DefaultRootObject covers only /).
        parts.append("rewrite ^(.+/)$ $1index.html break;")
    if "no-spa-fallback" not in f:
        # The good SPA pattern (a viewer-request function): only extension-less paths get the shell,
        # so a missing asset keeps S3's 403.
        parts.append("rewrite ^(?:.*/)?[^./]+$ /index.html break;")
    parts += ["proxy_pass http://static_origin;", _proxy_headers(c, S3_HOST, switch=True)]
    if "leaky-headers" not in f:
        parts.append("proxy_pass_header Server;  # CloudFront passes S3's 'Server: AmazonS3'")
    if "no-validators" in f:
        parts.append("proxy_hide_header ETag;\nproxy_hide_header Last-Modified;\n"
                     'proxy_set_header If-None-Match "";\nproxy_set_header If-Modified-Since "";')
    else:
        # nginx drops conditionals towards the origin when caching is on; CloudFront forwards them on a
        # miss, so an uncached index.html (no-cache) still gets S3's 304.
        parts.append("proxy_set_header If-None-Match $http_if_none_match;\n"
                     "proxy_set_header If-Modified-Since $http_if_modified_since;")
    # Keyed on the URI after viewer-request rewrites, as CloudFront does (and error-page fetches stay apart).
    if "assets-not-edge-cached" in f:  # CachingDisabled on the default behavior
        parts.append("proxy_cache off;")
    else:
        parts.append("proxy_cache edge;\nproxy_cache_key $scheme$host$uri$is_args$args;\n"
                     "proxy_cache_valid 403 404 10s;  # error caching minimum TTL")
    if "date-skewed" in f:
        parts.append("proxy_pass_header Date;  # the origin's (skewed) Date reaches the viewer")
    parts.append(_error_pages("spa-fallback-all" in f,
                              "error_page 405 =200 /index.html;" if "post-root-shell" in f else ""))
    return "location / {\n" + _indent("\n".join(parts)) + "\n}"


def _content(c: EdgeConfig) -> str:
    edge_pages = """location ~ ^/__cloudfront/(\\w+)$ {
    internal;
    proxy_pass http://static_origin/__cloudfront/$1?id=$request_id;
    proxy_set_header Connection "";""" + (f'\n    proxy_set_header {SECRET_HEADER} "{c.origin_secret}";'
                                         if c.origin_secret else "") + """
    proxy_pass_header Server;  # Server: CloudFront
    proxy_hide_header X-Lab-Cache-Kind;
    proxy_cache off;
}"""
    return "\n".join([_api_location(c), _static_location(c), edge_pages])


def _cloudfront_headers(c: EdgeConfig, x_cache: str) -> str:
    return f"""add_header Via "1.1 {c.via_id}.cloudfront.net (CloudFront)" always;
add_header X-Amz-Cf-Pop LAB50-C1 always;
add_header X-Amz-Cf-Id $request_id always;
add_header X-Cache {x_cache} always;
add_header X-Content-Type-Options $lab_nosniff always;  # the response headers policy (security headers)
""" + _security_headers(c)


# The good edge's response headers policy: the managed SecurityHeadersPolicy's headers plus a CSP, CORP and COOP.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; manifest-src 'self'; "
       "connect-src 'self' https://www.example.test; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
CSP_UNSAFE_INLINE = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
COOKIE = "lab_session=$request_id; Path=/; Secure; HttpOnly; SameSite=Lax"


def _security_headers(c: EdgeConfig) -> str:
    f = c.faults
    csp = None if "csp-missing" in f else CSP_UNSAFE_INLINE if "csp-unsafe-inline" in f else CSP
    if csp and "framing-allowed" in f:
        csp = csp.replace("; frame-ancestors 'self'", "")
    lines = [f'add_header Content-Security-Policy "{csp}" always;'] if csp else []
    if "framing-allowed" not in f:
        lines.append("add_header X-Frame-Options SAMEORIGIN always;")
    referrer = "unsafe-url" if "referrer-unsafe" in f else "strict-origin-when-cross-origin"
    lines.append(f"add_header Referrer-Policy {referrer} always;")
    if "coop-corp-missing" not in f:
        lines.append("add_header Cross-Origin-Opener-Policy same-origin always;")
        lines.append("add_header Cross-Origin-Resource-Policy same-origin always;")
    return "\n".join(lines)


def _maps(c: EdgeConfig) -> str:
    """Per-path values of the response headers policy (a behavior with its own policy, or none)."""
    f = c.faults
    nosniff = '~^/assets/ "";\n    ' if "nosniff-missing-assets" in f else ""
    cookie = "lab_session=$request_id; Path=/" if "cookie-insecure" in f else COOKIE
    return (f"map $uri $lab_nosniff {{\n    {nosniff}default nosniff;\n}}\n"
            # a viewer-response function sets the session cookie on the app's documents
            f'map $uri $lab_cookie {{\n    ~\\.html$ "{cookie}";\n    default "";\n}}')


def _http_server(c: EdgeConfig) -> str:
    f = c.faults
    if "http-no-redirect" in f:  # ViewerProtocolPolicy allow-all
        body = _cloudfront_headers(c, "$lab_x_cache") + "\n" + _content(c)
    else:
        target = ("https://d111111abcdef8.cloudfront.net$request_uri" if "redirect-wrong-host" in f
                  else "https://$host/" if "redirect-drops-path" in f
                  else "https://$host$lab_path_only" if "redirect-drops-query" in f
                  else "https://$host$request_uri")
        code = 302 if "redirect-302" in f else 301
        # CloudFront answers other methods 307, which keeps the method and body; a 301 would turn a POST into GET.
        other = code if "redirect-post-301" in f else 307
        # http-head-served: something answers HEAD before the redirect (a function handling HEAD): GET still
        # redirects, HEAD gets the content over plain HTTP.
        head = ("    error_page 418 = @head_served;\n    if ($request_method = HEAD) {\n        return 418;\n    }\n"
                if "http-head-served" in f else "")
        body = (_cloudfront_headers(c, '"Redirect from cloudfront"') + "\n"
                "location / {\n" + head +
                f"    if ($request_method !~ ^(GET|HEAD)$) {{\n        return {other} {target};\n    }}\n"
                f"    return {code} {target};\n}}")
        if head:
            body += ("\nlocation @head_served {\n    rewrite ^(?:.*/)?[^./]+$ /index.html break;\n"
                     "    proxy_pass http://static_origin;\n" + _indent(_proxy_headers(c, S3_HOST, switch=True)) + "\n}")
    v6 = f"    listen [::1]:{c.http_port};\n" if c.ipv6 else ""
    return f"server {{\n    listen 127.0.0.1:{c.http_port};\n{v6}    server_name _;\n" + _indent(body) + "\n}"


def _https_server(c: EdgeConfig) -> str:
    f = c.faults
    legacy = "tls-legacy" in f
    lines = [
        f"listen 127.0.0.1:{c.https_port} ssl http2;",
        *([f"listen [::1]:{c.https_port} ssl http2;"] if c.ipv6 else []),
        "server_name _;",
        f"ssl_certificate {c.cert};",
        f"ssl_certificate_key {c.key};",
        "ssl_protocols " + ("TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;" if legacy else "TLSv1.2 TLSv1.3;"),
        # OpenSSL 3 refuses TLS < 1.2 above security level 0.
        'ssl_ciphers "DEFAULT:@SECLEVEL=0";' if legacy else "ssl_ciphers HIGH:!aNULL:!MD5;",
        "ssl_session_cache shared:SSL:1m;",
    ]
    if "hsts-missing-api" in f:  # the response headers policy is on the default behavior only
        lines.append("add_header Strict-Transport-Security $lab_hsts always;  # empty (not sent) under /api/")
    elif "hsts-missing" not in f:
        max_age = "max-age=300; includeSubDomains" if "hsts-short" in f else HSTS
        always = "" if "hsts-missing-on-errors" in f else " always"
        lines.append(f'add_header Strict-Transport-Security "{max_age}"{always};')
    lines.append(_cloudfront_headers(c, "$lab_x_cache"))
    if c.alt_svc:  # as CloudFront advertises HTTP/3 (pulumi/docs#18478: alt-svc: h3=":443"; ma=86400)
        lines.append("add_header Alt-Svc 'h3=\":443\"; ma=86400' always;")
    if "csp-blocks-bundle" in f:  # a response headers policy whose script-src names another host only
        lines.append("add_header Content-Security-Policy \"default-src 'self'; script-src https://assets.example.test\" "
                     "always;")
    lines.append("add_header Set-Cookie $lab_cookie always;")
    if "geo-blocked" in f:  # geographic restriction: every viewer here is in a blocked country
        lines.append(f'error_page {EDGE_CODES["geo"]} =403 /__cloudfront/geo;\n'
                     f'if ($uri !~ "^/__cloudfront/") {{\n    return {EDGE_CODES["geo"]};\n}}')
    return "server {\n" + _indent("\n".join(lines) + "\n" + _content(c)) + "\n}"


def preamble(d: Path, as_root: bool) -> str:
    """The start of an nginx.conf that keeps everything under folder `d`, up to the open `http {` block."""
    return f"""{'user root root;' if as_root else ''}
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
lock_file {d}/nginx.lock;
error_log {d}/error.log warn;
events {{
    worker_connections 512;
}}
http {{
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;"""


def _origin_fronts(c: EdgeConfig) -> str:
    """The origins' own public endpoints, as AWS serves them to anyone who asks them directly (not through the
    edge): the bucket's REST endpoint and the execute-api host over HTTPS, the bucket's website endpoint over HTTP.
    Chosen by name (SNI, Host) on the edge's ports; they add no origin secret, so the origins refuse them unless
    the edge's faults make them public (origin-public)."""
    if c.origin_cert is None:
        return ""
    switch_at = "" if c.switch_at is None else ("inf" if math.isinf(c.switch_at) else f"{c.switch_at:.3f}")
    chain, key = c.origin_cert

    def front(listen: str, host: str, upstream: str, tls: bool) -> str:
        lines = [f"listen 127.0.0.1:{listen};", f"server_name {host};"]
        if tls:
            lines += [f"ssl_certificate {chain};", f"ssl_certificate_key {key};", "ssl_protocols TLSv1.2 TLSv1.3;"]
        lines.append("location / {\n" + _indent(f"""proxy_pass http://{upstream};
proxy_set_header Host $host;
proxy_set_header Connection "";
proxy_set_header X-Lab-Faults "{','.join(sorted(c.faults))}";
proxy_set_header X-Lab-Release-Switch-At "{switch_at}";
proxy_pass_header Server;
proxy_cache off;""") + "\n}")
        return "server {\n" + _indent("\n".join(lines)) + "\n}"

    # Any bucket's or API's name in the region reaches them (a target may name its own, mapped with connect_to).
    return "\n\n".join([front(f"{c.https_port} ssl", "*." + S3_HOST.split(".", 1)[1], "static_origin", True),
                        front(f"{c.https_port} ssl", "*." + API_HOST.split(".", 1)[1], "api_origin", True),
                        front(str(c.http_port), "*." + WEBSITE_HOST.split(".", 1)[1], "static_origin", False)])


def render(c: EdgeConfig) -> str:
    """The whole nginx.conf for one edge; nothing outside c.root is read or written."""
    d = c.root
    f = c.faults
    return f"""# generated by edgeverify.lab: faults = {', '.join(sorted(f)) or 'none'}
{preamble(d, c.as_root)}
    # $connection lets the benchmark measure keep-alive (requests per connection).
    log_format edge '$remote_addr conn=$connection n=$connection_requests "$request" $status $upstream_cache_status';
    access_log {d}/access.log edge;
    proxy_cache_path {d}/cache levels=1:2 keys_zone=edge:1m max_size=64m inactive=1h use_temp_path=off;
    default_type text/html;  # for the edge's own pages; origins always send a type
    server_tokens {'on' if 'leaky-headers' in f else 'off'};
    keepalive_timeout 60s;
    proxy_http_version 1.1;
    proxy_connect_timeout 5s;
    proxy_read_timeout 30s;

    # CloudFront "Compress objects automatically"
    gzip {'off' if 'compression-off' in f else 'on'};
    gzip_vary on;
    gzip_proxied any;
    gzip_min_length 1000;
    gzip_comp_level 5;
    gzip_types {GZIP_TYPES};

    upstream static_origin {{
        server 127.0.0.1:{c.static_port};
        keepalive 16;
    }}
    upstream api_origin {{
        server 127.0.0.1:{c.api_port};
        keepalive 16;
    }}

    # X-Cache as CloudFront reports it: errors (4xx/5xx, from the origin or the edge) are "Error".
    map "$upstream_http_x_lab_cache_kind|$status:$upstream_cache_status" $lab_x_cache {{
        "~^(?<kind>[A-Za-z]+)\\|" "$kind from cloudfront";
        ~^\\|[45] "Error from cloudfront";
        ~:(HIT|STALE|UPDATING)$ "Hit from cloudfront";
        ~:REVALIDATED$ "RefreshHit from cloudfront";
        default "Miss from cloudfront";
    }}
{_indent(_maps(c))}
    map $request_uri $lab_path_only {{
        ~^(?<path>[^?]*) $path;
    }}
    map $request_uri $lab_hsts {{
        ~^/api/ "";
        default "{HSTS}";
    }}

{_indent(_http_server(c))}

{_indent(_https_server(c))}

{_indent(_origin_fronts(c))}
}}
"""
