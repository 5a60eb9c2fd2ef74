"""spa: app routes get the shell; API errors, POST / and missing files do not."""

import pytest

from edgeverify.probes import token
from edgeverify.rules import spa


def entry_page(edge, target):
    """The entry document, fetched in the same check, to tell the shell by (unless a release marker says it)."""
    if target.propagation.release_marker:
        return None
    return edge.fetch(target.static.pages[0] if target.static.pages else "/")


@pytest.fixture
def fallback(target):
    if not target.spa.fallback:
        pytest.skip("spa.fallback is false: the app does not route deep links client-side")


@pytest.mark.rule("spa.deep_link")
def test_declared_deep_link_gets_the_app_shell(edge, target, fallback, deep_link):
    entry = entry_page(edge, target)
    spa.check_deep_link(edge.get(deep_link), entry, target.propagation.release_marker)


@pytest.mark.rule("spa.deep_link")
def test_unknown_deep_link_gets_the_app_shell(edge, target, fallback):
    if not target.spa.random_deep_link:
        pytest.skip("spa.random_deep_link is false")
    entry = entry_page(edge, target)
    spa.check_deep_link(edge.get(f"/__edgeverify/route-{token()}"), entry, target.propagation.release_marker)


@pytest.mark.rule("spa.api_errors_kept")
def test_unknown_api_route_keeps_the_apis_error(edge, target):
    entry = entry_page(edge, target)
    for path in (target.api.probe_path, f"{target.api.prefix.rstrip('/')}/__edgeverify-{token()}"):
        spa.check_api_error_kept(edge.get(path), entry, target.propagation.release_marker)


@pytest.mark.rule("spa.post_root")
def test_post_to_root_does_not_get_the_app_shell(edge, target):
    entry = entry_page(edge, target)
    # A static site has nothing a POST could change, so the check may repeat while the edge converges.
    spa.check_post_root(edge.request("POST", "/", data=b"", repeat_safe=True), entry, target.propagation.release_marker)


@pytest.mark.rule("spa.asset_fallback")
def test_missing_asset_is_not_answered_with_html(edge):
    spa.check_asset_fallback(edge.get(f"/assets/missing-{token()}.js"))
