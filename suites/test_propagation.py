"""propagation: viewers get the release that was just deployed (the engine's release gate waits for it first)."""

import pytest

from edgeverify.rules.propagation import check_previous_release, check_release_marker
from edgeverify.skew import previous_release


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
    """The previous release: propagation.previous_entry, else the run history's (edgeverify/skew.py)."""
    previous = previous_release(edge, target)
    if not previous.assets:
        pytest.skip(f"the previous release references no same-origin assets ({previous.source})")
    edge.data["properties"] = [("previous release", previous.short)] + ([("checked", previous.note)]
                                                                        if previous.note else [])
    check_previous_release(edge.fetch_all(previous.assets), previous.source, previous.short)
