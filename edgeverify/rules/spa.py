"""spa: deep links get the app shell; API errors, POST / and missing assets do not."""

from __future__ import annotations

import hashlib
import html
import re
from urllib.parse import urlsplit

from ..exchange import Exchange
from . import Violation, expect, responded, rule

VIEWER_REQUEST_FUNCTION = ("use a viewer-request CloudFront Function on the default behavior that rewrites "
                           "extension-less paths to /index.html")
NO_ERROR_MAPPING = ("custom error responses are distribution-wide: remove the 403/404 -> /index.html mapping and "
                    + VIEWER_REQUEST_FUNCTION)

DEEP_LINK = rule(
    "spa.deep_link",
    "Deep links (declared and unknown app routes) answer 200 text/html with the app shell",
    "A bookmarked or shared URL, or a reload on any route but /, must load the app, which then routes "
    "client-side. S3 has no object for /dashboard and answers 403 (no s3:ListBucket) or 404, so the edge must "
    "serve /index.html for app routes: " + VIEWER_REQUEST_FUNCTION + " (custom error responses also do it, but "
    "swallow API errors too).",
    "edge rules 'spa'; CloudFront Functions URL rewrite example",
    threshold="same document as the entry page: the release marker when declared, else the <title>, else the "
              "normalised body",
)
API_ERRORS_KEPT = rule(
    "spa.api_errors_kept",
    "Unknown API routes keep the API's own error; they never answer the app shell",
    "The pitfall most users of this design hit: custom error responses that turn 403 and 404 into /index.html with "
    "200 apply to every behavior, so API errors reach the app as '200 OK' HTML, fail to parse, and hide real "
    "outages from monitoring. " + NO_ERROR_MAPPING + ".",
    "edge rules 'spa' and 'api'; CloudFront custom error responses",
)
POST_ROOT = rule(
    "spa.post_root",
    "POST / does not answer 200 with the app shell",
    "A POST answered with the shell looks like success to forms, webhooks and health checks, while nothing "
    "handled it. The default (S3) behavior should allow only GET and HEAD (CloudFront then answers 403 itself); "
    "a custom error response mapping 405 to /index.html must go.",
    "aws-samples/cloudfront-authorization-at-edge#25",
)
ASSET_FALLBACK = rule(
    "spa.asset_fallback",
    "A missing asset-like path (/assets/missing.js) does not answer 200 with HTML",
    "When the shell stands in for missing files, a bad deploy's missing chunk is served as HTML with 200: the "
    "browser fails to run it (and, with nosniff, refuses it), caches may keep it, and monitoring sees success. "
    "The better pattern rewrites only extension-less paths, so missing files keep S3's error: "
    + VIEWER_REQUEST_FUNCTION + ".",
    "edge rules 'spa'; Mozilla HTTP Observatory (a 404 page that returns 200)",
    severity="advisory",
)


def title(text: str) -> str | None:
    """The document's <title>, whitespace-collapsed, or None."""
    match = re.search(r"(?is)<title[^>]*>(.*?)</title>", text)
    return " ".join(html.unescape(match.group(1)).split()) if match else None


def fingerprint(text: str) -> str:
    """A short hash of the body with whitespace normalised."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:12]


def same_document(ex: Exchange, entry: Exchange | None, marker: str | None) -> tuple[bool, str]:
    """Whether `ex` is the app shell, and how that was judged (release marker, <title> or body hash). What is read
    of a document (marker, title, hash) is derived once per answer, however many checks compare it."""
    if marker:
        found = bool(ex.derived(f"has-marker:{marker}", lambda e: marker in e.text))
        return found, f"release marker '{marker}' {'present' if found else 'absent'}"
    if entry is None:
        return False, "no entry page to compare with"
    want = entry.derived("title", lambda e: title(e.text))
    if want is not None:
        got = ex.derived("title", lambda e: title(e.text))
        return got == want, f"<title> {got!r}" + ("" if got == want else f" instead of the entry page's {want!r}")
    got_hash = ex.derived("fingerprint", lambda e: fingerprint(e.text))
    want_hash = entry.derived("fingerprint", lambda e: fingerprint(e.text))
    return got_hash == want_hash, (f"body hash {got_hash}" +
                                   ("" if got_hash == want_hash else f" instead of the entry page's {want_hash}"))


def check_deep_link(ex: Exchange, entry: Exchange | None, marker: str | None) -> None:
    path = urlsplit(ex.url).path
    expected = "200 text/html with the app shell (" + (f"release marker '{marker}'" if marker
                                                        else "the entry page's document") + ")"
    responded(DEEP_LINK, ex, expected)
    if ex.status in (403, 404):
        # S3's answer for a key it lacks: the rule knows this is an app route, not a missing file.
        raise Violation(DEEP_LINK, expected, f"{ex.status_line} {ex.content_type} for the app route {path}", ex,
                        diagnose=False,
                        cause=f"no SPA fallback: S3 has no object {path} and answers {ex.status}; "
                              + VIEWER_REQUEST_FUNCTION)
    expect(ex.status == 200, DEEP_LINK, expected, f"{ex.status_line} for the app route {path}", ex,
           cause="the default behavior does not serve /index.html for app routes: " + VIEWER_REQUEST_FUNCTION)
    expect(ex.content_type == "text/html", DEEP_LINK, expected,
           f"{ex.status_line} {ex.content_type or 'without Content-Type'} for {path}", ex,
           cause="something other than the shell answers app routes: check which object the default behavior's "
                 "rewrite serves, and that index.html was uploaded with Content-Type: text/html")
    if entry is not None and marker is None:
        responded(DEEP_LINK, entry, "the entry page, to compare with")
        expect(entry.status == 200, DEEP_LINK, "the entry page answers 200, to compare with",
               f"{entry.status_line} for the entry page", entry,
               cause="the entry document itself is not served: see the static suite")
    same, how = same_document(ex, entry, marker)
    expect(same, DEEP_LINK, expected, f"200 text/html for {path}, but not the shell: {how}", ex,
           cause="the deep link is served another document: a stale cached /index.html copy at the edge "
                 "(invalidate /* after each deploy, since rewritten routes share no cache key with /), or the "
                 "rewrite points at a different object")


def check_api_error_kept(ex: Exchange, entry: Exchange | None, marker: str | None) -> None:
    path = urlsplit(ex.url).path
    expected = "the API's own error (JSON 403/404), not the app shell"
    responded(API_ERRORS_KEPT, ex, expected)
    shell, how = same_document(ex, entry, marker)
    html_success = ex.status is not None and 200 <= ex.status < 300 and ex.content_type == "text/html"
    expect(not (shell or html_success), API_ERRORS_KEPT, expected,
           f"{ex.status_line} {ex.content_type} for the unknown API route {path}"
           + (f": the app shell ({how})" if shell else ""), ex,
           cause="a CloudFront custom error response maps the API's 403/404 to /index.html: " + NO_ERROR_MAPPING)


def check_post_root(ex: Exchange, entry: Exchange | None, marker: str | None) -> None:
    expected = "not 2xx with the app shell (CloudFront's 403 for a method the default behavior does not allow)"
    responded(POST_ROOT, ex, expected)
    shell, how = same_document(ex, entry, marker)
    html_success = ex.status is not None and 200 <= ex.status < 300 and ex.content_type == "text/html"
    expect(not html_success, POST_ROOT, expected,
           f"{ex.status_line} {ex.content_type} for POST /" + (f": the app shell ({how})" if shell else ""), ex,
           cause="the default behavior allows POST (AllowedMethods with POST) and a custom error response maps "
                 "S3's 405 to /index.html with 200: set its AllowedMethods to GET, HEAD and drop the 405 mapping")


def check_asset_fallback(ex: Exchange) -> None:
    path = urlsplit(ex.url).path
    expected = "an error (S3's 403/404) for a file that does not exist"
    responded(ASSET_FALLBACK, ex, expected)
    expect(not (ex.status == 200 and ex.content_type == "text/html"), ASSET_FALLBACK, expected,
           f"{ex.status_line} text/html for the missing file {path}", ex,
           cause="a custom error response (403/404 -> /index.html, 200) answers every missing file with the shell: "
                 "rewrite only extension-less paths to /index.html in a viewer-request function instead")
