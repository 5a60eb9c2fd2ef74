"""propagation: viewers get the release that was just deployed (the wait itself is the plugin's release gate)."""

import pytest

from edgeverify.rules.propagation import check_release_marker


@pytest.mark.rule("propagation.release")
def test_entry_document_serves_the_new_release(edge, target):
    if not target.propagation.release_marker:
        pytest.skip("the target declares no propagation.release_marker")
    check_release_marker(edge.get(target.static.pages[0] if target.static.pages else "/"),
                         target.propagation.release_marker)
