"""cache rules on canned exchanges: each passes on a correct answer and fails with what to change."""

import email.utils
import time

import pytest

from edgeverify.exchange import Exchange
from edgeverify.rules import Violation, cache
from edgeverify.target import Cache

PATTERN = Cache().fingerprint_pattern
YEAR = 31_536_000


def ex(path: str, cc: str | None = None, status: int = 200, x_cache: str = "Miss from cloudfront",
       body: bytes = b"{}", headers: list[tuple[str, str]] | None = None, started_at: float | None = None) -> Exchange:
    now = time.time() if started_at is None else started_at
    h = [("Date", email.utils.formatdate(now, usegmt=True)), ("X-Cache", x_cache)]
    if cc is not None:
        h.append(("Cache-Control", cc))
    return Exchange("GET", f"https://www.example.com{path}", status=status, reason="OK" if status == 200 else "",
                    headers=h + (headers or []), body=body, started_at=now)


def violation(check, *args) -> Violation:
    with pytest.raises(Violation) as info:
        check(*args)
    return info.value


@pytest.mark.parametrize("path", ["/assets/app.8d6bce34.js", "/assets/index-B2xT9kQa.css", "/static/js/main.1a2b3c.js",
                                  "/assets/logo.e92bbad8.svg?v=1"])
def test_fingerprinted_names(path):
    assert cache.fingerprinted(path, PATTERN)


@pytest.mark.parametrize("path", ["/favicon.ico", "/robots.txt", "/apple-touch-icon.png", "/manifest.webmanifest",
                                  "/assets/app.js", "/index.html"])
def test_plain_names_are_not_fingerprinted(path):
    assert not cache.fingerprinted(path, PATTERN)


def test_immutable_assets_pass_with_a_year_and_immutable():
    cache.check_immutable_assets([ex("/a.1a2b3c4d.js", "public, max-age=31536000, immutable")], YEAR)
    cache.check_immutable_assets([ex("/a.1a2b3c4d.js", "max-age=63072000,immutable")], YEAR)


@pytest.mark.parametrize("cc", ["max-age=60", "public, max-age=31536000", "max-age=600, immutable", "no-cache",
                                "no-store, max-age=31536000, immutable", None])
def test_immutable_assets_fail_otherwise(cc):
    v = violation(cache.check_immutable_assets, [ex("/a.1a2b3c4d.js", cc)], YEAR)
    assert v.rule.id == "cache.immutable_assets"
    assert (f"Cache-Control: {cc}" if cc else "no Cache-Control") in v.actual
    assert "--cache-control 'public,max-age=31536000,immutable'" in (v.cause or "")


def test_immutable_assets_threshold_is_the_targets():
    cache.check_immutable_assets([ex("/a.1a2b3c4d.js", "max-age=86400, immutable")], 86400)


def test_asset_edge_hit():
    cache.check_asset_edge_hit([ex("/a.1a2b3c4d.js", x_cache="Hit from cloudfront")])
    v = violation(cache.check_asset_edge_hit, [ex("/a.1a2b3c4d.js", "max-age=31536000", x_cache="Miss from cloudfront")])
    assert v.rule.id == "cache.asset_edge_hit" and "X-Cache: Miss from cloudfront" in v.actual
    assert "CachingOptimized" in (v.cause or "")
    v = violation(cache.check_asset_edge_hit, [ex("/a.1a2b3c4d.js", "no-store")])
    assert "no-store" in (v.cause or "")


def test_asset_edge_hit_reads_a_revalidation_answered_from_the_edge_cache():
    """The second request is the asset's revalidation: a cached asset's 304 is a Hit, an uncached one's a Miss."""
    cache.check_asset_edge_hit([ex("/a.1a2b3c4d.js", "max-age=31536000", 304, x_cache="Hit from cloudfront")])
    v = violation(cache.check_asset_edge_hit, [ex("/a.1a2b3c4d.js", "max-age=31536000", 304)])
    assert "X-Cache: Miss from cloudfront" in v.actual and "1 of 1" in v.actual


@pytest.mark.parametrize("cc", ["no-cache", "no-store", "max-age=0", "public, max-age=180", "no-cache, max-age=0"])
def test_html_revalidated_passes(cc):
    cache.check_html_revalidated(ex("/", cc), 180)


@pytest.mark.parametrize("cc,why", [("public, max-age=31536000, immutable", "assets' Cache-Control"),
                                    ("max-age=600", "cached too long"), ("no-cache, immutable", "assets'"),
                                    (None, "without Cache-Control metadata")])
def test_html_revalidated_fails(cc, why):
    v = violation(cache.check_html_revalidated, ex("/index.html", cc), 180)
    assert v.rule.id == "cache.html_revalidated" and why in (v.cause or "")


def test_html_revalidated_leaves_errors_to_the_static_suite():
    cache.check_html_revalidated(ex("/", "max-age=31536000", status=403), 180)


@pytest.mark.parametrize("cc", ["no-store", "private", "no-cache", "max-age=0", "private, max-age=0"])
def test_api_not_cached_passes(cc):
    cache.check_api_not_cached([ex("/api/nonce", cc)])


@pytest.mark.parametrize("cc", [None, "max-age=60", "public, s-maxage=60"])
def test_api_not_cached_fails(cc):
    v = violation(cache.check_api_not_cached, [ex("/api/nonce", cc)])
    assert v.rule.id == "cache.api_not_cached" and "no-store" in (v.cause or "")


def test_api_never_hit_passes_on_two_misses_with_different_values():
    cache.check_api_never_hit([(ex("/api/nonce", "no-store", body=b'{"n":1}'), ex("/api/nonce", "no-store", body=b'{"n":2}'))])


def test_api_never_hit_fails_on_a_hit_even_with_no_store():
    first = ex("/api/nonce", "no-store", body=b'{"n":1}')
    second = ex("/api/nonce", "no-store", x_cache="Hit from cloudfront", body=b'{"n":1}')
    v = violation(cache.check_api_never_hit, [(first, second)])
    assert v.rule.id == "cache.api_never_hit" and "X-Cache: Hit from cloudfront" in v.actual and v.exchange is second
    assert "CachingDisabled" in (v.cause or "") and "MinTTL" in (v.cause or "")


def test_api_never_hit_fails_on_the_same_value_twice():
    v = violation(cache.check_api_never_hit, [(ex("/api/nonce", body=b'{"n":1}'), ex("/api/nonce", body=b'{"n":1}'))])
    assert "the same body twice" in v.actual


@pytest.mark.parametrize("cc", ["no-cache", "no-store, no-cache, must-revalidate", "public, max-age=31536000, immutable",
                                "no-cache, max-age=0", "private, no-store"])
def test_header_hygiene_passes(cc):
    cache.check_header_hygiene([ex("/", cc, headers=[("Vary", "Accept-Encoding")])])


@pytest.mark.parametrize("cc,found", [("no-store, max-age=600", "no-store conflicts with max-age"),
                                      ("max-age=60, max-age=3600", "max-age cache directive appears more than once"),
                                      ("no-cache, immutable", "no-cache conflicts with immutable"),
                                      ("max-age=abc", "malformed Cache-Control")])
def test_header_hygiene_fails_on_cache_control(cc, found):
    v = violation(cache.check_header_hygiene, [ex("/", cc)])
    assert v.rule.id == "cache.header_hygiene" and found in v.actual and "--cache-control" in (v.cause or "")


def test_header_hygiene_sees_duplicates_across_header_lines_and_vary_star():
    v = violation(cache.check_header_hygiene, [ex("/", "max-age=60", headers=[("Cache-Control", "max-age=60")])])
    assert "more than once" in v.actual
    v = violation(cache.check_header_hygiene, [ex("/", "no-cache", headers=[("Vary", "*")])])
    assert "Vary: *" in v.actual and "Vary: Accept-Encoding" in (v.cause or "")


def test_date_accurate():
    cache.check_date_accurate([ex("/"), ex("/x", started_at=time.time() - 3)])
    skewed = ex("/", started_at=time.time() - 120)
    skewed.headers[0] = ("Date", email.utils.formatdate(time.time(), usegmt=True))  # 2 min after the request
    v = violation(cache.check_date_accurate, [skewed])
    assert v.rule.id == "cache.date_accurate" and "clock" in v.actual


def test_date_accurate_allows_for_age():
    sent = time.time()
    old = ex("/a.1a2b3c4d.js", headers=[("Age", "600")], started_at=sent)
    old.headers[0] = ("Date", email.utils.formatdate(sent - 600, usegmt=True))
    cache.check_date_accurate([old])
