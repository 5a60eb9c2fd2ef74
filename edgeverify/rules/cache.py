"""cache: long-lived immutable assets cached at the edge, revalidated HTML, never-cached API, clean headers.

Cache-Control and the header-hygiene findings come from httplint (the linter behind REDbot).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from httplint import HttpResponseLinter

from ..exchange import Exchange
from . import expect, responded, rule
from .static import report_all

IMMUTABLE_ASSETS = rule(
    "cache.immutable_assets",
    "Fingerprinted assets are sent with Cache-Control max-age of a year and immutable",
    "A file whose name carries a content hash never changes, so browsers and CloudFront may keep it for a year "
    "without revalidating; a short max-age makes every visitor re-download or revalidate the bundle. Set the "
    "Cache-Control metadata at upload: aws s3 cp/sync --cache-control 'public,max-age=31536000,immutable' for "
    "the fingerprinted assets (e.g. assets/), and 'no-cache' for index.html in a separate step.",
    "webhint http-cache; RFC 8246 (immutable)",
    threshold="max-age >= 31536000 s (cache.immutable_min_max_age)",
)
ASSET_EDGE_HIT = rule(
    "cache.asset_edge_hit",
    "A fingerprinted asset's second request (its revalidation, else a second GET) is a Hit at the edge",
    "If assets are not cached at the edge, every request goes to S3: slower, costlier, and a deploy that "
    "deletes old files breaks visitors still on the old index.html. Use the CachingOptimized cache policy "
    "(658327ea-f89d-4fab-a63d-7e88639e58f6) or one with a MaxTTL of at least a year on the behavior serving "
    "assets, and no query strings, cookies or extra headers in its cache key.",
    "CloudFront cache policies; X-Cache result types",
)
HTML_REVALIDATED = rule(
    "cache.html_revalidated",
    "Entry documents are revalidated: Cache-Control no-cache (or a max-age of at most 3 minutes), never immutable",
    "index.html names the current release's assets; cached for long, visitors keep the old release (and its "
    "deleted assets) after a deploy. Upload index.html with --cache-control 'no-cache' (aws s3 cp index.html "
    "s3://BUCKET/ --cache-control no-cache), after the assets; without Cache-Control CloudFront applies the cache "
    "policy's DefaultTTL (a day in CachingOptimized).",
    "webhint http-cache",
    threshold="max-age <= 180 s (cache.html_max_max_age)",
)
API_NOT_CACHED = rule(
    "cache.api_not_cached",
    "API responses forbid caching: Cache-Control no-store (or private, no-cache or max-age=0)",
    "Per-user or per-request API answers must not be reused by browsers or shared caches. Have the API (the "
    "Lambda or the integration response) send Cache-Control: no-store.",
    "RFC 9111 section 5.2.2; edge rules 'cache'",
)
API_NEVER_HIT = rule(
    "cache.api_never_hit",
    "Two identical API GETs are never answered from the edge cache: both reach the origin",
    "A cache policy with Min TTL > 0 caches API responses even when they say no-store, so users see each "
    "other's or stale data. Use the CachingDisabled policy (4135ea2d-6df8-44a3-9df3-4b5a84be39ad) on the API "
    "behavior, or a policy with Min, Default and Max TTL 0.",
    "CloudFront CreateCachePolicy reference (MinTTL); edge rules 'cache'",
)
HEADER_HYGIENE = rule(
    "cache.header_hygiene",
    "Caching headers are well-formed: no duplicate or conflicting Cache-Control directives, never Vary: *",
    "Caches resolve contradictions differently (CloudFront, browsers and proxies may each pick another "
    "directive), so the same object is cached in one place and not in another. Vary: * makes a response "
    "uncacheable everywhere. Set one consistent Cache-Control per object at upload (aws s3 cp --cache-control), "
    "and do not add a second one in a response headers policy or function.",
    "REDbot/httplint notes CC_CONFLICTING, CC_DUP, CC_BAD_VALUE_TYPE, VARY_ASTERISK",
)
DATE_ACCURATE = rule(
    "cache.date_accurate",
    "The Date header is within a few seconds of the client's clock (allowing for Age)",
    "Caches compute freshness from Date; a skewed clock makes responses look expired (or fresh) for too long. "
    "CloudFront and S3 keep good time: a wrong Date comes from a custom origin whose clock drifts (run NTP / "
    "chrony there) or from a function that sets Date itself, or the client running this check has a wrong clock.",
    "RFC 9110 section 6.6.1; REDbot/httplint DATE_INCORRECT",
    threshold="5 s (httplint's MAX_CLOCK_SKEW)",
)

UPLOAD_ASSETS = ("set Cache-Control metadata at upload: aws s3 cp/sync --cache-control 'public,max-age=31536000,"
                 "immutable' for fingerprinted assets (e.g. assets/)")
# Conflicts httplint reports that change nothing a cache does (a common belt-and-braces no-store header).
HARMLESS_CONFLICTS = {("no-store", "no-cache"), ("no-store", "must-revalidate"), ("no-store", "proxy-revalidate"),
                      ("no-store", "private"), ("no-cache", "must-revalidate"), ("no-cache", "proxy-revalidate")}
# Precedence order as httplint's CONFLICTING_CC: the first directive overrides the others.
OVERRIDES: dict[str, tuple[str, ...]] = {
    "no-store": ("immutable", "max-age", "must-revalidate", "no-cache", "private", "proxy-revalidate", "public",
                 "s-maxage", "stale-if-error", "stale-while-revalidate"),
    "no-cache": ("immutable", "max-age", "must-revalidate", "proxy-revalidate", "s-maxage", "stale-if-error",
                 "stale-while-revalidate"),
}
CC_SYNTAX_NOTES = {"CC_BAD_VALUE_TYPE", "CC_MISSING_VALUE", "CC_SHOULD_NOT_HAVE_VALUE", "BAD_SYNTAX",
                   "BAD_SYNTAX_DETAILED"}
HIT = re.compile(r"(?i)\b(Refresh)?Hit from cloudfront")


# The fields the cache rules read from httplint: linting only these keeps a large site's run cheap.
CACHE_FIELDS = frozenset({"cache-control", "vary", "date", "age", "expires", "pragma"})


def _lint_order(ex: Exchange) -> list[tuple[str, str]]:
    # httplint judges Date as soon as it is parsed, before a later Age is known (CloudFront sends Date first),
    # so a cached response would look skewed by its age: give it Age first.
    return sorted((h for h in ex.headers if h[0].lower() in CACHE_FIELDS), key=lambda h: h[0].lower() != "age")


@dataclass(frozen=True, slots=True)
class Lint:
    """What the rules read of httplint's verdict on one response: parsed Cache-Control and the notes."""

    cache_control: tuple[tuple[str, Any], ...]
    notes: tuple[tuple[str, str, str], ...]  # (note class, subject, summary)


def lint(ex: Exchange) -> Lint:
    """httplint's view of the response's caching fields (linted once per exchange, whatever the checks)."""
    return ex.derived("httplint", _lint)


def _lint(ex: Exchange) -> Lint:
    linter = HttpResponseLinter(start_time=ex.started_at or None, no_content=True)
    linter.process_response_topline(b"HTTP/1.1", str(ex.status or 0).encode(), ex.reason.encode("latin-1", "replace"))
    linter.process_headers([(k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in _lint_order(ex)])
    linter.finish_content(True)
    # Only this is kept: the linter itself holds every parsed field and message (kilobytes per response).
    return Lint(tuple(linter.headers.parsed.get("cache-control", [])),
                tuple((type(n).__name__, n.subject or "", n.summary) for n in linter.notes))


def directives(ex: Exchange) -> list[tuple[str, Any]]:
    """Cache-Control directives as httplint parsed them (lower-case names, delta-seconds as int), in order."""
    return list(lint(ex).cache_control)


def _first(found: list[tuple[str, Any]], name: str) -> Any:
    return next((value for d, value in found if d == name), None)


def _shown(ex: Exchange) -> str:
    value = ex.header("cache-control")
    return f"Cache-Control: {value}" if value is not None else "no Cache-Control"


def fingerprinted(path: str, pattern: str) -> bool:
    """Whether the file name carries a content hash: it matches the pattern and the hash is not a plain word.

    The second test keeps names such as apple-touch-icon.png out (the default pattern alone would match
    '-touch-icon.'): a hash has a digit or an upper-case letter.
    """
    name = urlsplit(path).path.rsplit("/", 1)[-1]
    match = re.search(pattern, name)
    return match is not None and bool(re.search(r"[0-9A-Z]", match.group(0).rsplit(".", 1)[0]))


def check_immutable_assets(exchanges: Sequence[Exchange], min_max_age: int) -> None:
    """Each 200 fingerprinted asset has max-age >= min_max_age and immutable (and no no-cache/no-store)."""
    problems = []
    judged = [ex for ex in exchanges if ex.status == 200]
    for ex in judged:
        found = directives(ex)
        names = {d for d, _ in found}
        age = _first(found, "max-age")
        if "no-store" in names or "no-cache" in names or not isinstance(age, int) or age < min_max_age \
                or "immutable" not in names:
            problems.append((ex, _shown(ex)))
    report_all(IMMUTABLE_ASSETS, f"Cache-Control: public, max-age={min_max_age}, immutable (max-age >= {min_max_age})",
               problems, len(judged), "fingerprinted assets", cause=UPLOAD_ASSETS)


def is_hit(ex: Exchange) -> bool:
    return bool(HIT.search(ex.x_cache))


def check_asset_edge_hit(second_requests: Sequence[Exchange]) -> None:
    """Each fingerprinted asset's second request was answered from the edge cache (X-Cache: Hit).

    The second request is the asset's revalidation (If-None-Match) where it has a validator, else a second
    GET. CloudFront answers a conditional request for a cached object from its cache: 304 with "X-Cache: Hit
    from cloudfront" (https://groundfog.cloud/en/blog/cloudfront, "Optimizing CloudFront Cache with
    Conditional GET Requests"; https://github.com/venveo/serverless-sharp/pull/70: "Cloudfront will
    automatically return a 304 Not Modified status code on cache hit"); an uncached one goes to the origin
    and comes back "Miss from cloudfront".
    """
    judged = [ex for ex in second_requests if ex.status in (200, 304)]
    problems = [(ex, f"X-Cache: {ex.x_cache}" if ex.x_cache else "no X-Cache header (not served by CloudFront?)")
                for ex in judged if not ex.x_cache.lower().startswith("hit from cloudfront")]
    uncacheable = [ex for ex, _ in problems if {d for d, _ in directives(ex)} & {"no-store", "private"}]
    report_all(ASSET_EDGE_HIT, "X-Cache: Hit from cloudfront on the second request (its revalidation, or a second GET)",
               problems, len(judged), "fingerprinted assets",
               cause=(f"the asset says {_shown(uncacheable[0])}, which CloudFront does not cache: " + UPLOAD_ASSETS)
               if uncacheable else
               "the behavior's cache policy does not cache (CachingDisabled, or MaxTTL 0) or its cache key varies per "
               "request (query strings, cookies or headers such as User-Agent in the key): use CachingOptimized")


def check_html_revalidated(ex: Exchange, max_max_age: int) -> None:
    """An entry document: no-cache, no-store or max-age <= max_max_age, and never immutable."""
    expected = f"Cache-Control: no-cache (or max-age <= {max_max_age}), without immutable"
    responded(HTML_REVALIDATED, ex, expected)
    if ex.status != 200:
        return  # static.served judges it
    found = directives(ex)
    names = {d for d, _ in found}
    age = _first(found, "max-age")
    expect(ex.header("cache-control") is not None, HTML_REVALIDATED, expected, "no Cache-Control header", ex,
           cause="index.html was uploaded without Cache-Control metadata, so CloudFront applies the cache policy's "
                 "DefaultTTL and browsers guess a lifetime: upload it with --cache-control no-cache")
    expect("immutable" not in names, HTML_REVALIDATED, expected, _shown(ex), ex,
           cause="the entry document got the assets' Cache-Control (e.g. one aws s3 sync --cache-control for the "
                 "whole build): upload index.html separately with --cache-control no-cache")
    revalidated = bool(names & {"no-cache", "no-store"}) or (isinstance(age, int) and age <= max_max_age)
    expect(revalidated, HTML_REVALIDATED, expected, _shown(ex), ex,
           cause="index.html is cached too long, so viewers keep the previous release after a deploy: upload it with "
                 "--cache-control no-cache (or max-age=60) after the assets")


def check_api_not_cached(exchanges: Sequence[Exchange]) -> None:
    """Each API response says no-store, or private / no-cache / max-age=0."""
    judged = [ex for ex in exchanges if ex.status is not None and 200 <= ex.status < 300]  # errors: the api suite
    problems = []
    for ex in judged:
        found = directives(ex)
        names = {d for d, _ in found}
        if not (names & {"no-store", "private", "no-cache"} or _first(found, "max-age") == 0):
            problems.append((ex, f"{ex.status_line}, {_shown(ex)}"))
    problems += [(ex, f"no response: {ex.error}") for ex in exchanges if ex.status is None]
    report_all(API_NOT_CACHED, "Cache-Control: no-store (or private, no-cache or max-age=0)", problems,
               len(exchanges), "API responses",
               cause="the API sends no Cache-Control, or a cacheable one: return 'Cache-Control: no-store' from the "
                     "Lambda (or map it in the integration response's headers)")


def check_api_never_hit(pairs: Sequence[tuple[Exchange, Exchange]]) -> None:
    """Each pair of identical API GETs: neither is an edge Hit, and the per-request bodies differ."""
    problems: list[tuple[Exchange, str]] = []
    for first, second in pairs:
        if first.status is None or second.status is None:
            bad = first if first.status is None else second
            problems.append((bad, f"no response: {bad.error}"))
            continue
        hits = [ex for ex in (first, second) if is_hit(ex)]
        if hits:
            problems.append((hits[-1], f"X-Cache: {hits[-1].x_cache} ({_shown(hits[-1])})"))
        elif first.body == second.body and 200 <= first.status < 300 and 200 <= second.status < 300:
            problems.append((second, f"the same body twice ({first.body_excerpt()[:80]}), X-Cache: "
                                     f"{second.x_cache or '(none)'}"))
    report_all(API_NEVER_HIT, "both GETs reach the origin (X-Cache: Miss) with different per-request values",
               problems, len(pairs), "API paths",
               cause="the /api/* behavior caches: its cache policy has MinTTL > 0 (which overrides the origin's "
                     "no-store) or is CachingOptimized; attach CachingDisabled "
                     "(4135ea2d-6df8-44a3-9df3-4b5a84be39ad) to the API behavior")


def hygiene_problems(ex: Exchange) -> list[str]:
    """Duplicate, conflicting or malformed Cache-Control directives and Vary: *, as httplint finds them."""
    names = [k.lower() for k, _ in _lint_order(ex)]
    problems: list[str] = []
    for kind, subject, summary in lint(ex).notes:
        subject = subject.split()[0] if subject else ""
        header = names[int(subject[7:])] if subject.startswith("offset-") and subject[7:].isdigit() \
            and int(subject[7:]) < len(names) else subject.removeprefix("field-")
        if kind in CC_SYNTAX_NOTES and header == "cache-control":
            problems.append(f"malformed Cache-Control ({summary.rstrip('.')})")
        elif kind == "CC_DUP":
            problems.append(summary.rstrip("."))
        elif kind == "VARY_ASTERISK":
            problems.append("Vary: * (uncacheable everywhere)")
    problems += _conflicts(directives(ex))
    return problems


def _conflicts(found: list[tuple[str, Any]]) -> list[str]:
    """httplint's CC_CONFLICTING, without the combinations no cache treats differently."""
    names = [d for d, _ in found]
    for directive, overridden in OVERRIDES.items():
        if directive in names:
            clash = [d for d in overridden if d in names and (directive, d) not in HARMLESS_CONFLICTS
                     and not (directive == "no-cache" and d == "max-age" and _first(found, "max-age") == 0)]
            if clash:
                return [f"{directive} conflicts with {', '.join(clash)}"]
    return []


def check_header_hygiene(exchanges: Sequence[Exchange]) -> None:
    """No response has duplicate/conflicting/malformed Cache-Control directives or Vary: *."""
    judged = [ex for ex in exchanges if ex.status is not None]
    problems = []
    for ex in judged:
        found = hygiene_problems(ex)
        if found:
            problems.append((ex, f"{'; '.join(found)} [{_shown(ex)}{_extra(ex, 'vary')}]"))
    vary_only = problems and all(p.startswith("Vary: *") for _, p in problems)
    report_all(HEADER_HYGIENE, "one consistent Cache-Control (no duplicate or conflicting directives) and no Vary: *",
               problems, len(judged), "responses", diagnose=False,
               cause="the origin or a function sends Vary: *: send Vary: Accept-Encoding (or Origin) only" if vary_only
               else "the object's Cache-Control metadata contradicts itself (e.g. no-store with max-age) or a second "
                    "Cache-Control is added by a response headers policy or function: upload one value with aws s3 cp "
                    "--metadata-directive REPLACE --cache-control '...'")


def date_skew(ex: Exchange) -> str | None:
    """httplint's DATE_INCORRECT summary for this response (Date more than 5 s off, Age allowed for), or None."""
    if not ex.started_at:
        return None
    return next((summary.rstrip(".") for kind, _, summary in lint(ex).notes if kind == "DATE_INCORRECT"), None)


def check_date_accurate(exchanges: Sequence[Exchange]) -> None:
    """Each response's Date is within a few seconds of the client clock when the request was sent."""
    judged = [ex for ex in exchanges if ex.status is not None]
    problems = [(ex, f"{skew} (Date: {ex.header('date')}{_extra(ex, 'age')})")
                for ex in judged if (skew := date_skew(ex))]
    report_all(DATE_ACCURATE, "a Date within 5 s of the client's clock", problems, len(judged), "responses",
               diagnose=False,
               cause="a clock is off: the origin's (run NTP/chrony on a custom origin) or this machine's "
                     "(check with: date -u; curl -sI https://aws.amazon.com | grep -i ^date)")


def _extra(ex: Exchange, name: str) -> str:
    """', Name: value' when the response has that header, else ''."""
    value = ex.header(name)
    return f", {name.title()}: {value}" if value else ""
