"""cache: immutable fingerprinted assets hit at the edge, revalidated HTML, never-cached API, clean headers."""

import pytest

from edgeverify.discovery import discover_assets
from edgeverify.rules import cache


def fingerprinted_assets(edge, target):
    assets = [a for a in discover_assets(edge, target) if cache.fingerprinted(a, target.cache.fingerprint_pattern)]
    if not assets:
        pytest.skip(f"no asset name matches cache.fingerprint_pattern {target.cache.fingerprint_pattern!r}")
    return assets


def never_cached(target):
    if not target.api.never_cached:
        pytest.skip("the target declares no api.never_cached paths")
    return target.api.never_cached


@pytest.mark.rule("cache.immutable_assets")
def test_fingerprinted_assets_are_immutable_for_a_year(edge, target):
    assets = fingerprinted_assets(edge, target)
    cache.check_immutable_assets(edge.fetch_all(assets), target.cache.immutable_min_max_age)


@pytest.mark.rule("cache.asset_edge_hit")
def test_fingerprinted_assets_are_hits_at_the_edge(edge, target):
    assets = fingerprinted_assets(edge, target)
    firsts = edge.fetch_all(assets)  # the first GET (shared: any check's GET puts the asset in the edge cache)
    # The second request is the revalidation static.conditional_get sends anyway (a cached asset's 304 comes
    # from the edge: X-Cache: Hit); an asset without a validator gets a second GET of its own.
    seconds = edge.revalidate(firsts)
    unvalidated = [i for i, second in enumerate(seconds) if second is None]
    for i, again in zip(unvalidated, edge.fetch_all([assets[i] for i in unvalidated], fresh=True)):
        seconds[i] = again
    cache.check_asset_edge_hit([s for s in seconds if s is not None])


@pytest.mark.rule("cache.html_revalidated")
def test_entry_documents_are_revalidated(edge, target, page):
    cache.check_html_revalidated(edge.fetch(page), target.cache.html_max_max_age)


@pytest.mark.rule("cache.api_not_cached")
def test_api_responses_forbid_caching(edge, target):
    cache.check_api_not_cached(edge.fetch_all(never_cached(target)))


@pytest.mark.rule("cache.api_never_hit")
def test_api_responses_are_never_edge_hits(edge, target):
    paths = never_cached(target)
    first = edge.fetch_all(paths)
    second = edge.fetch_all(paths, fresh=True)  # asked again: an edge that caches it answers a Hit
    cache.check_api_never_hit(list(zip(first, second)))


def every_response(edge, target):
    paths = list(dict.fromkeys(target.static.pages + discover_assets(edge, target) + target.api.never_cached))
    return edge.fetch_all(paths)


@pytest.mark.rule("cache.header_hygiene")
def test_caching_headers_are_consistent(edge, target):
    cache.check_header_hygiene(every_response(edge, target))


@pytest.mark.rule("cache.date_accurate")
def test_date_matches_the_clock(edge, target):
    cache.check_date_accurate(every_response(edge, target))
