"""The two origins: an S3-like static bucket and an API Gateway + Lambda-like JSON API.

Run as `python -m edgeverify.lab.origins --root DIR`: binds both on free loopback ports, prints
`{"static": port, "api": port}` on one stdout line, and serves until stdin closes (its parent died
or stopped it). Per-edge behaviour arrives in request headers set by nginx: `X-Lab-Faults` and
`X-Lab-Release-Switch-At`. They are trusted only because both servers listen on loopback.
"""
from __future__ import annotations

import argparse
import base64
import email.utils
import gzip
import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote

from . import pages

PAGES_PREFIX = "/__cloudfront/"  # the edge's own error pages (see pages.py)
INDEX_VARIANTS = ("asset-missing", "mixed-content", "config-relative", "sri-missing")  # faults changing the index
API_HOST = "lab0api.execute-api.us-east-1.amazonaws.com"
S3_HOST = "lab-site.s3.us-east-1.amazonaws.com"
WEBSITE_HOST = "lab-site.s3-website-us-east-1.amazonaws.com"  # the bucket's website endpoint (origin-public serves it)
# CloudFront OriginCustomHeaders: the edge adds this header with the lab's secret to every origin request, and the
# origins refuse requests without it (as S3 behind OAC and an API checking the header do); origin-public: they
# answer anyone. The secret comes from the lab (environment); none set: no check (the origins run alone).
SECRET_HEADER = "X-Origin-Verify"
SECRET_ENV = "EDGEVERIFY_LAB_ORIGIN_SECRET"
SECRET = os.environ.get(SECRET_ENV, "")
ALLOWED_ORIGINS = ("https://app.example.test", "https://www.example.test")
ASSETS_LAG_S = 3.0  # assets-after-index: how long after the new index.html its assets arrive
ORIGIN_SLOW_S = 2.5  # api-origin-timeout: longer than the edge's origin read timeout for that fault

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
    ".css": "text/css", ".json": "application/json", ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml", ".ico": "image/x-icon", ".png": "image/png", ".txt": "text/plain",
    ".map": "application/json",
}


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, always a Content-Length, no access log, Server header chosen per origin."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: Nagle + delayed ACK would add 40 ms
    server_header: str | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the edge keeps the access log

    def send_response(self, code: int, message: str | None = None) -> None:
        # BaseHTTPRequestHandler always adds "Server: BaseHTTP/..."; the AWS origins do not.
        self.log_request(code)
        self.send_response_only(code, message)
        if self.server_header:
            self.send_header("Server", self.server_header)
        skew = -120 if "date-skewed" in self.faults else 0
        self.send_header("Date", self.date_time_string(time.time() + skew))

    @property
    def faults(self) -> frozenset[str]:
        return frozenset(f.strip() for f in self.headers.get("X-Lab-Faults", "").split(",") if f.strip())

    @property
    def through_edge(self) -> bool:
        """Whether this request may be answered: it came through the edge (the secret origin header), or the
        origin is public (origin-public)."""
        return not SECRET or self.headers.get(SECRET_HEADER) == SECRET or "origin-public" in self.faults

    @property
    def host(self) -> str:
        return self.headers.get("Host", "").rsplit(":", 1)[0].lower()

    @property
    def path_only(self) -> str:
        return self.path.split("?", 1)[0]

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, headers: dict[str, str], body: bytes = b"", repeated: tuple[str, ...] = ()) -> None:
        """Send one answer; the `repeated` header names are sent twice (a duplicated header)."""
        self.send_response(status)
        if "leaky-headers" in self.faults:
            self.send_header("X-Powered-By", "Express")
        for name, value in headers.items():
            for _ in range(2 if name in repeated else 1):
                self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)


class _Object:
    """One stored object with the metadata S3 keeps for it."""

    def __init__(self, body: bytes, modified: float) -> None:
        self.body = body
        self.etag = f'"{hashlib.md5(body).hexdigest()}"'
        self.last_modified = email.utils.formatdate(modified, usegmt=True)
        self.modified = int(modified)


class StaticHandler(_Handler):
    """S3 REST endpoint behind OAC, without s3:ListBucket: missing keys answer 403 AccessDenied. Asked by the website
    endpoint's name (WEBSITE_HOST), it answers as that endpoint: index documents, HTML error pages."""

    server_header = "AmazonS3"
    bucket: dict[str, _Object] = {}
    index: dict[str, _Object] = {}  # "<release>" or "<release>-asset-missing" -> index.html
    careless: dict[str, _Object] = {}  # source maps and dotfiles a careless deploy uploads too
    previous_only: frozenset[str] = frozenset()  # keys only the previous release's index.html references
    new_only: frozenset[str] = frozenset()  # keys only the new release's index.html references
    sw_stale: _Object | None = None  # the sw-stale fault's /sw.js (cache-first, never updates)

    def do_GET(self) -> None:
        # nginx passes a POST's body on with the GET of an error page (error_page): read it, or it would be
        # taken for the start of the next request on this keep-alive connection ("xGET").
        self.read_body()
        website = ".s3-website" in self.host  # asked by a website endpoint's name
        if not self.through_edge:  # Block Public Access, a bucket policy for CloudFront's OAC only
            return self._website_error(403, "AccessDenied", "Access Denied") if website else \
                self._error(403, "AccessDenied", "Access Denied")
        if self.path_only.startswith(PAGES_PREFIX):
            return self._edge_page()
        key = unquote(self.path_only.lstrip("/"))
        if website and (key == "" or key.endswith("/")):  # the website endpoint's index document
            key += "index.html"
        obj = self._lookup(key)
        if obj is None and website:
            return self._website_error(404, "NoSuchKey", "The specified key does not exist.", f"<li>Key: {key}</li>\n")
        if obj is None:
            return self._error(403, "AccessDenied", "Access Denied")
        headers = {
            "Content-Type": self._content_type(key),
            "ETag": obj.etag,
            "Last-Modified": obj.last_modified,
            "Cache-Control": self._cache_control(key),
            "Accept-Ranges": "bytes",
            **self._request_ids(),
        }
        if key == "index.html" and "etag-unstable" in self.faults:  # regenerated on every request: a new ETag
            headers["ETag"] = f'"{uuid.uuid4().hex}"'
            return self.reply(200, headers, obj.body)
        if self._not_modified(obj):
            return self.reply(304, headers)
        if key.endswith(".js") and "encoding-mislabelled" in self.faults:  # gzip bytes, br metadata
            return self.reply(200, {**headers, "Content-Encoding": "br"}, gzip.compress(obj.body, mtime=0))
        if key.endswith(".css") and "asset-truncated" in self.faults:
            return self._truncated(headers, obj.body)
        self.reply(200, headers, obj.body)

    def _truncated(self, headers: dict[str, str], body: bytes) -> None:
        """Promise the whole body (Content-Length), send half of it, close the connection."""
        self.send_response(200)
        for name, value in {**headers, "Content-Encoding": "identity"}.items():  # identity: the edge leaves it be
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
        self.close_connection = True

    do_HEAD = do_GET

    def _other(self) -> None:
        self.read_body()
        self._error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                    f"<Method>{self.command}</Method><ResourceType>OBJECT</ResourceType>")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other

    def _edge_page(self) -> None:
        """CloudFront's own error page (GET /__cloudfront/<reason>?id=<request id>), for the edge's nginx.

        Served from here because nginx cannot rename its own Server header; the edge's location for these
        paths is internal, so a viewer never reaches them.
        """
        name = self.path_only[len(PAGES_PREFIX):]
        query = parse_qs(self.path.split("?", 1)[1] if "?" in self.path else "")
        if name in pages.CUSTOM:  # a WAF custom response: the web ACL's own status and body
            self.server_header = "CloudFront"
            status, body = pages.CUSTOM[name]
            return self.reply(status, {"Content-Type": "text/html"},
                              body.replace("{id}", query.get("id", [""])[0]).encode())
        if name not in pages.REASONS:
            return self.reply(404, {"Content-Type": "text/plain"}, b"unknown page")
        status, reason, kind, _ = pages.REASONS[name]
        headers = {"Content-Type": "text/html"}
        if kind:
            headers["X-Lab-Cache-Kind"] = kind  # nginx turns it into "X-Cache: <kind> from cloudfront"
        self.server_header = "CloudFront"  # this answer only: the handler object serves one request
        self.reply(status, headers, pages.render(status, reason, query.get("id", [""])[0]).encode())

    def _lookup(self, key: str) -> _Object | None:
        if key == "" and "bucket-listing" in self.faults:  # GET on the bucket itself, with s3:ListBucket granted
            return self._listing()
        if key == "sw.js" and "sw-stale" in self.faults and self.sw_stale is not None:
            return self.sw_stale
        if key not in ("index.html", "config.json"):
            # Source maps and dotfiles are in the bucket only when a careless deploy uploaded them (their faults).
            uploaded = key in self.careless and ("source-maps-public" in self.faults if key.endswith(".map")
                                                 else "dotfiles-served" in self.faults)
            if key in self.previous_only and "previous-release-deleted" in self.faults:
                return None  # aws s3 sync --delete removed the previous release's assets
            if key in self.new_only and "assets-after-index" in self.faults and not self._uploaded_late():
                return None  # the deploy uploaded index.html first; its new chunks are still on their way
            return self.careless[key] if uploaded else self.bucket.get(key)
        # Propagation: nginx says when this edge switches to the new release (absent = new now).
        switch_at = self.headers.get("X-Lab-Release-Switch-At")
        release = "old" if switch_at and time.time() < float(switch_at) else "new"
        if key == "config.json":  # config-stale: the edge still serves the previous release's config
            return self.bucket.get(f"config/{'old' if 'config-stale' in self.faults else release}.json")
        variant = next((f for f in INDEX_VARIANTS if f in self.faults), None)
        return self.index[f"{release}-{variant}" if variant else release]

    def _uploaded_late(self) -> bool:
        """assets-after-index: the new release's assets arrive ASSETS_LAG_S after the switch to its index.html
        (never, on an edge without a timed switch)."""
        switch_at = self.headers.get("X-Lab-Release-Switch-At")
        if not switch_at or switch_at == "inf":
            return False
        return time.time() >= float(switch_at) + ASSETS_LAG_S

    def _listing(self) -> _Object:
        """S3's ListObjects answer for the bucket root (the first keys)."""
        keys = "".join(f"<Contents><Key>{k}</Key><Size>{len(o.body)}</Size><ETag>{o.etag}</ETag>"
                       "<StorageClass>STANDARD</StorageClass></Contents>" for k, o in sorted(self.bucket.items())[:20])
        return _Object(('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult '
                        'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>lab-site</Name><Prefix></Prefix>'
                        f"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{keys}</ListBucketResult>").encode(),
                       time.time())

    def _content_type(self, key: str) -> str:
        if key == "":
            return "application/xml"
        ext = os.path.splitext(key)[1]
        if ext == ".js" and "script-wrong-type" in self.faults or ext == ".css" and "css-wrong-type" in self.faults:
            return "text/plain"
        if key.startswith("assets/route.") and "route-chunk-html" in self.faults:
            return "text/html"
        return CONTENT_TYPES.get(ext, "binary/octet-stream")  # S3's default for untyped uploads

    def _cache_control(self, key: str) -> str:
        # The Cache-Control metadata a well-run deploy sets, unless a fault says otherwise.
        if key == "config.json":  # the runtime config changes with each release: revalidated every time
            return "no-cache"
        if key == "sw.js":  # the service worker's script: revalidated, so that a new release's worker is found
            return "public, max-age=31536000" if "sw-stale" in self.faults else "no-cache"
        if key.endswith(".html"):
            if "html-cached-long" in self.faults:
                return "public, max-age=31536000, immutable"
            return "no-store, max-age=600" if "cache-conflicting" in self.faults else "no-cache"
        if key.startswith("assets/"):
            return "max-age=60" if "assets-not-cached" in self.faults else "public, max-age=31536000, immutable"
        return "public, max-age=3600"

    def _not_modified(self, obj: _Object) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or obj.etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return obj.modified <= email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _request_ids(self) -> dict[str, str]:
        return {"x-amz-request-id": os.urandom(8).hex().upper(),
                "x-amz-id-2": base64.b64encode(os.urandom(48)).decode()}

    def _website_error(self, status: int, code: str, message: str, extra: str = "") -> None:
        """The website endpoint's error page (HTML): 403 Forbidden with Code: AccessDenied when the bucket is not
        public (ACloudGuru/automating-aws-with-python#1, rufuspollock/s3-bucket-listing#112 show this text)."""
        ids = self._request_ids()
        title = f"{status} {'Forbidden' if status == 403 else 'Not Found'}"
        body = (f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n<li>Code: {code}</li>\n"
                f"<li>Message: {message}</li>\n{extra}<li>RequestId: {ids['x-amz-request-id']}</li>\n"
                f"<li>HostId: {ids['x-amz-id-2']}</li>\n</ul>\n<hr/>\n</body>\n</html>\n")
        self.reply(status, {"Content-Type": "text/html; charset=utf-8", **ids}, body.encode())

    def _error(self, status: int, code: str, message: str, extra: str = "") -> None:
        ids = self._request_ids()
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"{extra}<RequestId>{ids['x-amz-request-id']}</RequestId><HostId>{ids['x-amz-id-2']}</HostId></Error>")
        self.reply(status, {"Content-Type": "application/xml", **ids}, body.encode())


_ROUTES = {"/api/echo": ("POST",), "/api/health": ("GET", "HEAD"), "/api/nonce": ("GET", "HEAD")}
_LOOKALIKE = re.compile(r"https://.*example.test")  # the buggy check: unescaped dot, no anchors


class ApiHandler(_Handler):
    """API Gateway (REST API, stage mapped at the root) with a Lambda proxy integration and CORS."""

    def handle_any(self) -> None:
        path, body = self.path_only, self.read_body()
        host = self.headers.get("Host", "").rsplit(":", 1)[0]
        faults = self.faults
        if not self.through_edge:  # the API refuses callers without CloudFront's origin header (a 403 of its own)
            return self._gateway(403, "Forbidden", "ForbiddenException")
        if host not in (API_HOST, "127.0.0.1", "localhost"):
            return self._gateway(403, "Forbidden", "ForbiddenException")  # no custom domain for that Host
        if not path.startswith("/api/"):
            return self._gateway(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        if "apigw-throttled" in faults:  # stage throttling / usage plan exhausted
            return self._gateway(429, "Too Many Requests", "TooManyRequestsException")
        if self.command == "OPTIONS":
            return self._preflight()
        if "api-origin-timeout" in faults:  # the origin answers after CloudFront's (lab) origin read timeout
            time.sleep(ORIGIN_SLOW_S)
        if "apigw-timeout" in faults:  # the integration outlived API Gateway's 29 s: answered at once here
            return self._gateway(504, "Endpoint request timed out")
        if "apigw-http-timeout" in faults:  # HTTP API flavour: 503 after its 30 s integration timeout
            return self._gateway(503, "Service Unavailable")
        if path not in _ROUTES:
            return self._json(404, {"message": "Not Found"})
        if self.command not in _ROUTES[path]:
            return self._gateway(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        no_store = {} if "api-no-cache-control" in self.faults else {"Cache-Control": "no-store"}
        if path == "/api/echo":
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                return self._json(400, {"message": "Invalid JSON body"}, no_store)
            return self._json(200, {"echo": payload, "method": self.command}, no_store)
        if path == "/api/health":
            return self._json(200, {"status": "ok"}, no_store)
        self._json(200, {"nonce": uuid.uuid4().hex, "time": time.time()}, no_store)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any

    def _allowed_origin(self) -> str | None:
        """The Access-Control-Allow-Origin value this request earns, if any."""
        origin, faults = self.headers.get("Origin"), self.faults
        if "cors-wildcard-credentials" in faults:
            return "*"
        if origin is None:
            return None
        if (origin in ALLOWED_ORIGINS  # the correct check: exact string match
                or "cors-reflect-any" in faults
                or "cors-allow-null" in faults and origin == "null"
                or "cors-lookalike" in faults and _LOOKALIKE.match(origin)
                or "cors-http-origin" in faults and origin.replace("http://", "https://", 1) in ALLOWED_ORIGINS):
            return origin
        return None

    def _cors_headers(self) -> dict[str, str]:
        acao = self._allowed_origin()
        headers = {} if acao == "*" or "cors-no-vary" in self.faults else {"Vary": "Origin"}
        if acao and "cors-acao-list" in self.faults and acao != "*":  # the whole allow-list in one header value
            acao = ", ".join(ALLOWED_ORIGINS)
        if acao:
            headers |= {"Access-Control-Allow-Origin": acao, "Access-Control-Allow-Credentials": "true"}
        return headers

    def _preflight(self) -> None:
        headers, faults = self._cors_headers(), self.faults
        if "Access-Control-Allow-Origin" in headers:
            methods = "GET, POST, OPTIONS" if "cors-missing-method" in faults else "GET, POST, PUT, OPTIONS"
            allowed = "authorization" if "cors-missing-header" in faults else "content-type, authorization"
            headers |= {"Access-Control-Allow-Methods": methods, "Access-Control-Allow-Headers": allowed,
                        "Access-Control-Max-Age": "600"}
        self.reply(204, {"Content-Type": "application/json", **self._ids(), **headers}, repeated=self._repeated())

    def _repeated(self) -> tuple[str, ...]:
        # A response headers policy adds CORS headers and the Lambda sends its own: two ACAO headers.
        return ("Access-Control-Allow-Origin",) if "cors-double-acao" in self.faults else ()

    def _ids(self) -> dict[str, str]:
        apigw_id = base64.b64encode(os.urandom(12)).decode()[:15] + "="
        if "apigw-http-timeout" in self.faults:  # an HTTP API: one id header (cortexlabs/cortex#1225)
            return {"apigw-requestid": apigw_id}
        # A REST API (serverless-operations/serverless-apigateway-service-proxy#110)
        return {"x-amzn-RequestId": str(uuid.uuid4()), "x-amz-apigw-id": apigw_id}

    def _gateway(self, status: int, message: str, error_type: str | None = None) -> None:
        """API Gateway's own answer (a gateway response), not the Lambda's."""
        self._json(status, {"message": message}, {"x-amzn-ErrorType": error_type} if error_type else None,
                   cors="api-errors-no-cors" not in self.faults)  # gateway responses configured with CORS headers

    def _json(self, status: int, payload: object, extra: dict[str, str] | None = None, cors: bool = True) -> None:
        headers = {"Content-Type": "application/json", **self._ids(), **(extra or {}),
                   **(self._cors_headers() if cors else {})}
        # Compact separators: byte for byte what API Gateway sends.
        self.reply(status, headers, json.dumps(payload, separators=(",", ":")).encode(), repeated=self._repeated())


def load(root: Path) -> None:
    """Load the built site (see site.build) into the static handler's bucket."""
    now = time.time()
    bucket = root / "bucket"
    StaticHandler.bucket = {p.relative_to(bucket).as_posix(): _Object(p.read_bytes(), now)
                            for p in bucket.rglob("*") if p.is_file()}
    StaticHandler.careless = {p.relative_to(root / "careless").as_posix(): _Object(p.read_bytes(), now)
                              for p in (root / "careless").rglob("*") if p.is_file()}
    refs = {release: set(re.findall(r'="/(assets/[^"]+)"', (root / "index" / f"{release}.html").read_text()))
            for release in ("old", "new")}
    StaticHandler.previous_only = frozenset(refs["old"] - refs["new"])
    StaticHandler.new_only = frozenset(refs["new"] - refs["old"])
    StaticHandler.index = {p.stem: _Object(p.read_bytes(), now) for p in (root / "index").glob("*.html")}
    stale = root / "sw-stale.js"
    StaticHandler.sw_stale = _Object(stale.read_bytes(), now) if stale.is_file() else None


class _Origin(ThreadingHTTPServer):
    """A threaded origin whose accept queue holds a burst of connections: the default (5) overflows when an
    HTTP/2 viewer has dozens of requests in flight, and the kernel then drops SYNs for a second."""

    request_queue_size = 256
    daemon_threads = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgeverify.lab.origins")
    parser.add_argument("--root", type=Path, required=True, help="directory written by site.build")
    args = parser.parse_args(argv)
    load(args.root)
    servers = {name: _Origin(("127.0.0.1", 0), handler)
               for name, handler in (("static", StaticHandler), ("api", ApiHandler))}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({name: s.server_address[1] for name, s in servers.items()}), flush=True)
    sys.stdin.read()  # blocks until the parent closes our stdin or dies: no orphaned origins
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
