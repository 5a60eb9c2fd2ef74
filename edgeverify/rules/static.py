"""static: every page and referenced asset is served, typed, compressed and revalidatable; no stack leaks."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from httplint.field.unnecessary import UNNECESSARY_FIELDS

from ..exchange import Exchange
from . import Rule, Violation, raise_collected, rule


SERVED = rule(
    "static.served",
    "Every page and every asset the entry document references answers 200 to GET",
    "A missing script or stylesheet breaks the app for every visitor although index.html loads. The deploy "
    "must upload every file the build references before it uploads (or invalidates) index.html; with "
    "`aws s3 sync --delete`, upload the new assets first and delete old ones in a later step.",
    "edge rules 'static'; CloudFront S3 origin with OAC",
)
HEAD = rule(
    "static.head",
    "Every page and asset answers 200 to HEAD too",
    "Link checkers, monitors and some download managers send HEAD. The default behavior's AllowedMethods "
    "must include HEAD (GET, HEAD is the minimum), and the S3 bucket policy must allow s3:GetObject, which "
    "covers HEAD.",
    "RFC 9110 section 9.3.2; CloudFront AllowedMethods",
)
MEDIA_TYPE = rule(
    "static.media_type",
    "Each file is served with the media type of its kind (never the SPA's text/html for an asset)",
    "Browsers refuse scripts and stylesheets with the wrong Content-Type under X-Content-Type-Options: "
    "nosniff, and module scripts always. S3 serves the Content-Type stored at upload: aws s3 sync/cp set it "
    "from the extension; a custom --content-type, a misconfigured mime map or an upload tool without one "
    "(binary/octet-stream) breaks it. text/html for an asset means the SPA fallback page stands in for a "
    "missing object.",
    "edge rules 'static'; Mozilla HTTP Observatory (404 page returned 200); WHATWG Fetch 'should block "
    "response due to MIME type'",
)
COMPRESSED = rule(
    "static.compressed",
    "Compressible files of 1,000 bytes to 10 MB are served with Content-Encoding br or gzip and "
    "Vary: Accept-Encoding",
    "Uncompressed JavaScript and CSS are typically 3-5 times larger: slower first loads and higher transfer "
    "cost. Turn on 'Compress objects automatically' for the behavior and use a cache policy that includes "
    "gzip and Brotli normalisation (CachingOptimized does); CloudFront only compresses types it knows, 1,000 "
    "bytes to 10 MB, and only when the origin response has no Content-Encoding.",
    "CloudFront Developer Guide, 'Serving compressed files'",
    threshold="1,000 to 10,000,000 bytes (static.compress_min_bytes, static.compress_max_bytes)",
)
VALIDATORS = rule(
    "static.validators",
    "Pages and assets carry an ETag or Last-Modified validator",
    "Without a validator a browser cannot revalidate: every expired or no-cache response (index.html) is "
    "downloaded in full. S3 always sends both; their absence means something strips them: a response headers "
    "policy removing them, Lambda@Edge, or an origin other than S3.",
    "RFC 9110 section 8.8; REDbot/httplint validator notes",
)
CONDITIONAL_GET = rule(
    "static.conditional_get",
    "A conditional GET with the file's validator (If-None-Match) answers 304 Not Modified",
    "Revalidation is what makes Cache-Control: no-cache on index.html cheap; if it answers 200 every visit "
    "downloads the document again. CloudFront forwards If-None-Match / If-Modified-Since to S3 on a miss and "
    "answers 304 itself on a hit; a Lambda@Edge or function that drops them, or an ETag that changes per "
    "response, breaks it.",
    "RFC 9110 section 13.1.2; REDbot's INM_304 / INM_FULL notes",
)
BODY_INTACT = rule(
    "static.body_intact",
    "Every body arrives whole and decodes as its Content-Encoding says",
    "A body labelled br that is gzip (or any coding it is not), or one shorter than its Content-Length, fails "
    "in every browser (ERR_CONTENT_DECODING_FAILED, a truncated script) although the status is 200. It comes "
    "from the objects, not the network: files uploaded pre-compressed with the wrong Content-Encoding "
    "metadata, or an origin that promises more bytes than it sends. Every check that reads such a file points "
    "here; a decoding failure is not retried (no propagation fixes it).",
    "RFC 9110 sections 8.4 (Content-Encoding) and 8.6 (Content-Length); CloudFront 'Serving compressed files'",
)
LEAKY_HEADERS = rule(
    "static.leaky_headers",
    "Responses do not advertise the server stack (X-Powered-By, a versioned Server header)",
    "Version banners tell an attacker which exploits to try and help nobody else. Remove them with a "
    "CloudFront response headers policy (RemoveHeadersConfig: X-Powered-By, Server) or at the origin.",
    "webhint no-disallowed-headers; httplint UNNECESSARY_HEADER",
    severity="advisory",
)

# Media types a file's extension allows; anything else with that extension is wrong.
MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    ".js": ("text/javascript", "application/javascript", "application/x-javascript"),
    ".mjs": ("text/javascript", "application/javascript"),
    ".cjs": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".json": ("application/json",),
    ".map": ("application/json",),
    ".webmanifest": ("application/manifest+json", "application/json"),
    ".html": ("text/html",),
    ".htm": ("text/html",),
    ".svg": ("image/svg+xml",),
    ".png": ("image/png",),
    ".jpg": ("image/jpeg",),
    ".jpeg": ("image/jpeg",),
    ".gif": ("image/gif",),
    ".webp": ("image/webp",),
    ".avif": ("image/avif",),
    ".ico": ("image/x-icon", "image/vnd.microsoft.icon"),
    ".woff": ("font/woff", "application/font-woff"),
    ".woff2": ("font/woff2",),
    ".ttf": ("font/ttf", "application/x-font-ttf"),
    ".txt": ("text/plain",),
    ".xml": ("application/xml", "text/xml"),
    ".wasm": ("application/wasm",),
}
SCRIPT_EXTENSIONS = (".js", ".mjs", ".cjs")
# Types CloudFront compresses (its documented list, abridged to what a static site serves).
COMPRESSIBLE = re.compile(
    r"^(text/.+|application/(javascript|x-javascript|json|manifest\+json|xml|ld\+json|wasm|rss\+xml|"
    r"atom\+xml|xhtml\+xml|vnd\.ms-fontobject|x-font-ttf)|image/(svg\+xml|x-icon|vnd\.microsoft\.icon)|"
    r"font/(ttf|otf|opentype|eot))$")
ENCODINGS = ("br", "gzip")
VERSIONED_SERVER = re.compile(r"[A-Za-z][\w.-]*/v?\d")


def report_all(rule_: Rule, expected: str, problems: Sequence[tuple[Exchange, str]], total: int, what: str,
               cause: str | None, diagnose: bool = True) -> None:
    """One Violation listing every bad file by its path (capped), showing the first one's exchange."""
    raise_collected(rule_, expected, [(ex, f"{ex.path}: {problem}") for ex, problem in problems], total, what,
                    cause, diagnose)


def _extension(ex: Exchange) -> str:
    path = urlsplit(ex.url).path
    if path.endswith("/"):
        return ".html"
    return posixpath.splitext(path)[1].lower()


def _unanswered(exchanges: Sequence[Exchange]) -> list[tuple[Exchange, str]]:
    return [(ex, f"no response: {ex.error}") for ex in exchanges if ex.status is None]


def check_served(exchanges: Sequence[Exchange], what: str = "files") -> None:
    """Each GET answered 200."""
    problems = [(ex, ex.status_line) for ex in exchanges if ex.status != 200]
    missing_like = any(ex.status in (403, 404) for ex, _ in problems)
    report_all(SERVED, "200 OK for each", problems, len(exchanges), what,
               cause="the object is not in the bucket under that key: the deploy skipped it, uploaded it under "
                     "another prefix, or deleted it before index.html stopped referencing it" if missing_like else
                     "the origin or the behavior fails for these paths: check the behavior's origin and its health")


def check_head(exchanges: Sequence[Exchange], what: str = "files") -> None:
    """Each HEAD answered 200."""
    problems = [(ex, ex.status_line) for ex in exchanges if ex.status != 200]
    missing_like = any(ex.status in (403, 404) for ex, _ in problems)
    report_all(HEAD, "200 OK to HEAD for each", problems, len(exchanges), what,
               cause="the object is missing from the bucket (S3 answers HEAD with 403 when it lacks s3:ListBucket; "
                     "if GET fails too, see static.served), or a function / Lambda@Edge mishandles HEAD"
               if missing_like else
               "HEAD is not answered like GET: the default behavior's AllowedMethods must include GET, HEAD, and any "
               "function or Lambda@Edge must pass HEAD through")


def media_type_problem(ex: Exchange) -> tuple[str, str] | None:
    """(what is wrong, what to change) for a 200 response whose type does not fit its file, else None."""
    if ex.status != 200:
        return None  # static.served judges those
    got = ex.content_type or "(no Content-Type)"
    ext = _extension(ex)
    allowed = MEDIA_TYPES.get(ext)
    if ext not in (".html", ".htm") and got == "text/html":
        return (f"text/html (the SPA fallback page) instead of {allowed[0] if allowed else 'the file'}",
                "the object is missing and a custom error response (403/404 -> /index.html, 200) serves the app "
                "shell in its place: upload the file, and rewrite only extension-less paths to /index.html")
    if allowed is None or got in allowed:
        return None
    if ext in SCRIPT_EXTENSIONS:
        fix = ("upload JavaScript with Content-Type text/javascript: aws s3 sync sets it from the extension; a "
               "custom --content-type, a misconfigured mime map or an upload tool without one breaks it "
               "(fix the object metadata: aws s3 cp s3://BUCKET/KEY s3://BUCKET/KEY --metadata-directive REPLACE "
               "--content-type text/javascript)")
    else:
        fix = (f"upload {ext} files with Content-Type {allowed[0]}: aws s3 sync sets it from the extension; a custom "
               f"--content-type or a misconfigured mime map breaks it (fix the object metadata with aws s3 cp "
               f"--metadata-directive REPLACE --content-type {allowed[0]})")
    return f"{got} instead of {' or '.join(allowed)}", fix


def check_media_types(exchanges: Sequence[Exchange], what: str = "files") -> None:
    """Each 200 response's Content-Type fits its file's extension."""
    found = [(ex, media_type_problem(ex)) for ex in exchanges]
    problems = [(ex, p[0]) for ex, p in found if p]
    cause = next((p[1] for _, p in found if p), None)
    served = sum(1 for ex in exchanges if ex.status == 200)
    report_all(MEDIA_TYPE, "each file's own media type (JavaScript text/javascript, CSS text/css, JSON "
               "application/json; never text/html for an asset)", problems, served, f"served {what}", cause)


def compressible(ex: Exchange, min_bytes: int, max_bytes: int) -> bool:
    """Whether CloudFront should compress this response (type and decoded size)."""
    return (ex.status == 200 and bool(COMPRESSIBLE.match(ex.content_type))
            and min_bytes <= ex.size <= max_bytes and not ex.body_truncated)


def compression_problem(ex: Exchange, min_bytes: int, max_bytes: int) -> str | None:
    """What is wrong with a compressible response's encoding, or None (also when it need not be compressed)."""
    if not compressible(ex, min_bytes, max_bytes):
        return None
    encoding = (ex.header("content-encoding") or "").strip().lower()
    vary = {v.strip().lower() for v in (ex.header("vary") or "").split(",")}
    if encoding not in ENCODINGS:
        return (f"{ex.size:,} bytes of {ex.content_type} sent "
                + (f"with Content-Encoding: {encoding}" if encoding else "uncompressed (no Content-Encoding)"))
    if "accept-encoding" not in vary and "*" not in vary:
        return f"Content-Encoding: {encoding} without Vary: Accept-Encoding"
    return None


def check_compressed(exchanges: Sequence[Exchange], min_bytes: int, max_bytes: int, what: str = "files") -> None:
    """Each compressible response (type, min..max bytes) is br/gzip-encoded with Vary: Accept-Encoding."""
    problems = [(ex, p) for ex in exchanges if (p := compression_problem(ex, min_bytes, max_bytes))]
    total = sum(1 for ex in exchanges if compressible(ex, min_bytes, max_bytes))
    no_vary = problems and all("without Vary" in p for _, p in problems)
    report_all(COMPRESSED, "Content-Encoding: br or gzip and Vary: Accept-Encoding (request sent Accept-Encoding: "
               "gzip, br)", problems, total, f"compressible {what} ({min_bytes:,}-{max_bytes:,} bytes)",
               cause="the origin compresses but does not send Vary: Accept-Encoding; let CloudFront compress instead "
                     "(Compress objects automatically) and upload uncompressed objects" if no_vary else
                     "the behavior's 'Compress objects automatically' is off, or its cache policy does not enable "
                     "gzip/Brotli (EnableAcceptEncodingGzip/Brotli; CachingOptimized has both); CloudFront then "
                     "serves the object as stored")


def _has_validator(ex: Exchange) -> bool:
    return bool(ex.header("etag") or ex.header("last-modified"))


def check_validators(exchanges: Sequence[Exchange], what: str = "files") -> None:
    """Each 200 response has an ETag or a Last-Modified."""
    problems = [(ex, "neither ETag nor Last-Modified") for ex in exchanges if ex.status == 200 and not _has_validator(ex)]
    served = sum(1 for ex in exchanges if ex.status == 200)
    report_all(VALIDATORS, "an ETag or Last-Modified header", problems, served, f"served {what}",
               cause="something between S3 and the viewer strips ETag and Last-Modified (a response headers policy's "
                     "RemoveHeadersConfig, a Lambda@Edge or CloudFront Function); S3 always sends both")


def validator(ex: Exchange) -> str | None:
    """The response's validator: its ETag, else its Last-Modified."""
    return ex.header("etag") or ex.header("last-modified")


def check_conditional_get(pairs: Sequence[tuple[Exchange, Exchange | None]], what: str = "files") -> None:
    """Each (full GET, conditional GET) pair: the conditional one answers 304; None means no validator to send."""
    problems: list[tuple[Exchange, str]] = []
    changed: list[str] = []  # the ETags seen, when the answer to If-None-Match carries another one
    for full, conditional in pairs:
        if full.status != 200:
            continue
        if conditional is None:
            problems.append((full, "no ETag or Last-Modified to revalidate with, so every revisit downloads "
                                   f"{full.size:,} bytes again"))
        elif conditional.status != 304:
            sent = ", ".join(f"{k}: {v}" for k, v in conditional.request_headers if k.lower().startswith("if-"))
            first, again = full.header("etag"), conditional.header("etag")
            differs = conditional.status == 200 and first and again and first != again
            if differs:
                changed.append(f"{full.path}: {first} then {again}")
            problems.append((conditional, f"{conditional.status_line} to {sent}"
                             + (f" (and a new ETag: {again})" if differs else "")))
    served = sum(1 for full, _ in pairs if full.status == 200)
    cause = ("the ETag changes on every response, confirmed by the ETags seen (" + "; ".join(changed[:3]) + "): the "
             "object is regenerated per request (an origin or a function that renders it, or a per-request "
             "rewrite of the ETag), so no If-None-Match ever matches; serve the stored object and its stored ETag"
             ) if changed else (
             "conditional requests do not reach S3 or its validators are stripped: check response headers "
             "policies, functions and Lambda@Edge on the behavior; an ETag that differs per response (an "
             "origin that regenerates the file) also prevents 304")
    report_all(CONDITIONAL_GET, "304 Not Modified to If-None-Match (or If-Modified-Since) with the file's own "
               "validator", problems, served, f"served {what}", cause=cause)


def leaked_headers(ex: Exchange) -> list[str]:
    """The response's headers that reveal the server stack."""
    leaks = [f"{name}: {value}" for name, value in ex.headers if name.lower() in UNNECESSARY_FIELDS]
    leaks += [f"{name}: {value}" for name, value in ex.headers
              if name.lower() == "server" and VERSIONED_SERVER.search(value)]
    return leaks


def check_leaky_headers(exchanges: Sequence[Exchange], what: str = "files") -> None:
    """No response carries X-Powered-By and similar banners, or a Server header with a version."""
    problems = [(ex, "; ".join(leaks)) for ex in exchanges if (leaks := leaked_headers(ex))]
    report_all(LEAKY_HEADERS, "no X-Powered-By (or similar) header and no version in Server", problems,
               len(exchanges), what, diagnose=False,
               cause="the origin (or a proxy in front of it) adds stack banners: remove X-Powered-By and Server with a "
                     "CloudFront response headers policy (RemoveHeadersConfig), or turn them off at the origin "
                     "(Express: app.disable('x-powered-by'); nginx: server_tokens off)")


MIXED_CONTENT = rule(
    "static.mixed_content",
    "An https page loads its scripts, styles, icons, images and fetches over https (or relative URLs), never http://",
    "On an https page browsers block http:// scripts, stylesheets, frames and fetches outright (mixed content) "
    "and upgrade or flag images, so the app breaks for every visitor while the page itself loads. It usually "
    "comes from a build whose public path or asset base URL was set to http://...; make it https:// or relative.",
    "W3C Mixed Content (blockable content); edge rules 'static'",
)
_HTTP_FETCH = re.compile(r"""\bfetch\(\s*["'](http://[^"']+)""")


def mixed_content(ex: Exchange) -> list[str]:
    """The http:// URLs an https HTML page makes a browser load (subresources and literal fetch() calls)."""
    if not ex.url.startswith("https://") or ex.content_type != "text/html":
        return []
    from ..discovery import _References  # the asset parser the discovery of assets uses

    parser = _References()
    parser.feed(ex.text)
    parser.close()
    urls = [u.strip() for u in parser.urls] + _HTTP_FETCH.findall(ex.text)
    return list(dict.fromkeys(u for u in urls if u.lower().startswith("http://")))


def check_mixed_content(pages: Sequence[Exchange], what: str = "pages") -> None:
    """No https page references a subresource over http://."""
    problems = [(ex, "loads " + ", ".join(found)) for ex in pages if (found := mixed_content(ex))]
    report_all(MIXED_CONTENT, "every script, stylesheet, icon, image and fetch over https:// or relative",
               problems, len(pages), what, diagnose=False,
               cause="the build's asset base URL (public path / CDN URL) is http://: browsers block these on an https "
                     "page; set it to https:// or a relative path and redeploy")


def body_fault(ex: Exchange) -> Violation:
    """The root finding for an answer whose body is the edge's fault: it does not decode as labelled (final,
    not retried), or it ends before its Content-Length (retried: only a repeat is the object's fault)."""
    coding = ex.header("content-encoding") or "none"
    if ex.error_phase == "decode":
        cause = (f"the object is labelled Content-Encoding: {coding}, but its body is not {coding}"
                 + ": the upload stored pre-compressed bytes with the wrong Content-Encoding metadata (or a "
                   "function rewrites the header); re-upload with the coding the bytes have, or let CloudFront "
                   "compress (Compress objects automatically) and store the files uncompressed")
    else:
        cause = ("the origin sends fewer bytes than the Content-Length it promises (a truncated object in the "
                 "bucket, or an origin or function that cuts the body): re-upload the object and compare its "
                 "stored size with Content-Length; this is not missing evidence, every check reading the file "
                 "fails on it")
    violation = Violation(BODY_INTACT, f"the body of {ex.path} whole and decodable as its Content-Encoding says",
                          ex.error or "", ex, cause, diagnose=False)
    violation.final = ex.error_phase == "decode"
    return violation
