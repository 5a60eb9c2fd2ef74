"""edges.consistent on recorded results: passes when every edge answers as deployed, fails naming each edge that does not."""

from __future__ import annotations

import pytest

from edgeverify.exchange import Exchange
from edgeverify.rules import Violation
from edgeverify.rules.edges import EdgeResult, check_consistent, marker_served

NEW, OLD = "build-2026.11.25-new", "build-2026.11.25-old"
CHECKS = ("propagation.release", "static.served", "https.redirect_status")


def edge(n: int, release: str = NEW, entry: str = "3a2bcb288e6f", error: str | None = None,
         **verdicts: str) -> EdgeResult:
    address = f"127.0.0.{20 + n}"
    judged = {c: "passed" for c in CHECKS}
    judged.update({k.replace("__", "."): v for k, v in verdicts.items()})
    ex = Exchange("GET", "https://www.example.test/", status=None if error else 200, error=error,
                  connect_to=(f"www.example.test:443:{address}:443",),
                  headers=[("x-amz-cf-pop", f"LAB{20 + n}-C1")], body=f'<meta name="release" content="{release}">'.encode())
    return EdgeResult(address, [f"region-{n}"], [f"LAB{20 + n}-C1"], None if error else release,
                      None if error else entry, "200 OK", {} if error else judged, 0.1, 1, 4, error, ex)


def test_agreeing_edges_pass():
    check_consistent([edge(1), edge(2), edge(3)], NEW)
    check_consistent([edge(1)], NEW)
    check_consistent([], NEW)


def test_edges_that_agree_on_the_old_release_fail_naming_each():
    # agreeing is not enough: every edge stale (the far regions all behind) is the case the rule exists for
    with pytest.raises(Violation) as caught:
        check_consistent([edge(i, release=OLD, entry="900839cca5ad",
                               propagation__release="failed: serving old") for i in (1, 2)], NEW)
    v = caught.value
    assert "2 of 2 edges not as deployed" in v.actual and f"not release {NEW} on 127.0.0.21 ({OLD}), 127.0.0.22" \
        in v.actual
    assert "has not converged" in v.cause


def test_an_edge_failing_a_check_on_the_new_release_is_a_configuration_cause_not_an_invalidation():
    with pytest.raises(Violation) as caught:
        check_consistent([edge(1, https__redirect_status="failed: 200 OK")], NEW)  # one edge alone fails too
    assert "https.redirect_status fails on 127.0.0.21" in caught.value.actual
    assert "has not propagated there" in caught.value.cause and "invalidate" not in caught.value.cause


def test_no_edge_answering_is_nothing_to_judge():
    from edgeverify.errors import CouldNotJudge

    with pytest.raises(CouldNotJudge, match="no edge answered: 127.0.0.21 .*connection refused"):
        check_consistent([edge(1, error="connection refused"), edge(2, error="connection refused")], NEW)


def test_an_edge_on_the_old_release_is_named_with_its_release_pop_and_region():
    with pytest.raises(Violation) as caught:
        check_consistent([edge(1), edge(2), edge(3, release=OLD, entry="900839cca5ad",
                                                     propagation__release="failed: serving old")], NEW)
    v = caught.value
    assert v.rule.id == "edges.consistent"
    assert "1 of 3 edges not as deployed" in v.actual
    assert f"{OLD} on 127.0.0.23" in v.actual
    assert "127.0.0.23 (POP LAB23-C1, region region-3): release build-2026.11.25-old" in v.actual
    assert "<- not as deployed" in v.actual.split("127.0.0.23 (POP")[1].splitlines()[0]
    assert "127.0.0.23" in v.cause and "invalidate /index.html" in v.cause
    assert "--connect-to www.example.test:443:127.0.0.23:443" in v.render()  # reproduce against that edge


def test_same_release_but_a_different_verdict_fails():
    with pytest.raises(Violation) as caught:
        check_consistent([edge(1), edge(2, https__redirect_status="failed: 200 OK"), edge(3)], NEW)
    assert "https.redirect_status fails on 127.0.0.22 only" in caught.value.actual


def test_a_different_entry_document_fails_even_without_a_marker():
    with pytest.raises(Violation) as caught:
        check_consistent([edge(1, release=None), edge(2, release=None, entry="ffffffffffff")], None)  # type: ignore[arg-type]
    assert "entry documents differ" in caught.value.actual
    assert "every edge serves the same entry document" in caught.value.expected


def test_an_unreachable_edge_fails():
    with pytest.raises(Violation) as caught:
        check_consistent([edge(1), edge(2, error="connection refused")], NEW)
    assert "no answer from 127.0.0.22" in caught.value.actual
    assert "unreachable" in caught.value.cause


def test_marker_served_names_the_other_build():
    assert marker_served(f'content="{NEW}"', NEW) == NEW
    assert marker_served(f'content="{OLD}"', NEW) == OLD
    assert marker_served("<html>", NEW) is None
    assert marker_served("anything", None) is None


def test_a_marker_written_as_an_attribute_names_the_other_build_whole():
    assert marker_served('<html data-release="v1">', 'data-release="v2"') == 'data-release="v1"'
