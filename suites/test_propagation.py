"""propagation: viewers get the release that was just deployed (the engine's release gate waits for it first)."""

import pytest

from pathlib import Path

from edgeverify.discovery import referenced_assets
from edgeverify.rules.propagation import check_previous_release, check_release_marker


@pytest.mark.release_independent  # it judges the marker itself, so it does not wait behind the gate
@pytest.mark.rule("propagation.release")
def test_entry_document_serves_the_new_release(edge, target):
    if not target.propagation.release_marker:
        pytest.skip("the target declares no propagation.release_marker")
    check_release_marker(edge.fetch(target.static.pages[0] if target.static.pages else "/", whole=True),
                         target.propagation.release_marker)


@pytest.mark.release_independent  # the previous release must load whatever the edge serves now
@pytest.mark.rule("propagation.previous_release")
def test_previous_release_still_loads(edge, target):
    if not target.propagation.previous_entry:
        pytest.skip("the target declares no propagation.previous_entry (a saved copy of the previous index.html)")
    html = Path(target.propagation.previous_entry).read_text(encoding="utf-8", errors="replace")
    assets = referenced_assets(html, target.domain)
    if not assets:
        pytest.skip(f"{target.propagation.previous_entry} references no same-origin assets")
    check_previous_release(edge.fetch_all(assets))
