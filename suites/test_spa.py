"""spa: app routes get the shell; API errors, POST / and missing files do not."""

import pytest

from edgeverify.probes import token
from edgeverify.rules import spa


def entry_page(edge, target):
    """The entry document, to tell the shell by (unless a release marker says it)."""
    if target.propagation.release_marker:
        return None
    return edge.fetch(target.static.pages[0] if target.static.pages else "/", whole=True)


def needs_fallback(target):
    if not target.spa.fallback:
        pytest.skip("spa.fallback is false: the app does not route deep links client-side")


@pytest.mark.rule("spa.deep_link")
def test_declared_deep_link_gets_the_app_shell(edge, target, deep_link):
    needs_fallback(target)
    entry = entry_page(edge, target)
    spa.check_deep_link(edge.get(deep_link, whole=True), entry, target.propagation.release_marker)


@pytest.mark.rule("spa.deep_link")
def test_unknown_deep_link_gets_the_app_shell(edge, target):
    needs_fallback(target)
    if not target.spa.random_deep_link:
        pytest.skip("spa.random_deep_link is false")
    entry = entry_page(edge, target)
    spa.check_deep_link(edge.get(f"/__edgeverify/route-{token()}", whole=True), entry,
                        target.propagation.release_marker)


@pytest.mark.rule("spa.api_errors_kept")
def test_unknown_api_route_keeps_the_apis_error(edge, target):
    entry = entry_page(edge, target)
    for ex in edge.fetch_all([target.api.probe_path, f"{target.api.prefix.rstrip('/')}/__edgeverify-{token()}"]):
        spa.check_api_error_kept(ex, entry, target.propagation.release_marker)


@pytest.mark.rule("spa.post_root")
def test_post_to_root_does_not_get_the_app_shell(edge, target):
    if not getattr(target.spa, "post_root_probe", True):
        pytest.skip("spa.post_root_probe is false: POST / is not sent")
    entry = entry_page(edge, target)
    # Sent once per run (a static site has nothing a POST could change, but it is still a POST).
    spa.check_post_root(edge.request("POST", "/", data=b""), entry, target.propagation.release_marker)


@pytest.mark.rule("spa.asset_fallback")
def test_missing_asset_is_not_answered_with_html(edge):
    spa.check_asset_fallback(edge.get(f"/assets/missing-{token()}.js"))
