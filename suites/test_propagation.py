"""propagation: viewers get the release that was just deployed (the engine's release gate waits for it first)."""

import pytest

from edgeverify.rules.propagation import check_release_marker


@pytest.mark.release_independent  # it judges the marker itself, so it does not wait behind the gate
@pytest.mark.rule("propagation.release")
def test_entry_document_serves_the_new_release(edge, target):
    if not target.propagation.release_marker:
        pytest.skip("the target declares no propagation.release_marker")
    check_release_marker(edge.fetch(target.static.pages[0] if target.static.pages else "/", whole=True),
                         target.propagation.release_marker)
