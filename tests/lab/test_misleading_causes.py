"""Faults whose first diagnosis misled (issue 20): each fails naming its real cause, the other checks that read
the same file point to that root finding instead of "could not judge", and a fault no propagation can heal is
not retried to the propagation deadline."""
from __future__ import annotations

from pathlib import Path

import pytest

SUITES = Path(__file__).resolve().parents[2] / "suites"


@pytest.mark.parametrize("fault, cause, final", [
    # gzip bytes stored with Content-Encoding: br: a decoding failure, not a broken connection
    ("encoding-mislabelled", "labelled Content-Encoding: br, but its body is not br", True),
    # the origin promises more bytes than it sends, every time: a fault, not missing evidence
    ("asset-truncated", "fewer bytes than the Content-Length it promises", False),
])
def test_body_fault_is_the_root_finding(lab, run_edgeverify, fault, cause, final):
    # a 3 s propagation window: a retryable failure is tried again after the 2 s interval, a final one is not
    run = run_edgeverify(lab.edge(faults=[fault]), str(SUITES / "test_static.py"), str(SUITES / "test_cache.py"),
                         "--propagation-timeout=3")
    assert run.returncode == 1, run.output
    judged = {c["id"]: c for c in run.checks}
    unjudged = [i for i, c in judged.items() if c["outcome"] == "could_not_judge"]
    assert unjudged == [], f"{fault}: checks left unjudged instead of naming the fault: {unjudged}\n{run.output[-3000:]}"
    failing = [c for c in run.checks if c["outcome"] == "failed"]
    assert failing, run.output
    body_checks = [c for c in failing if c["rule"] == "static.body_intact"]
    assert body_checks, f"{fault}: no check names the body fault\n{run.output[-3000:]}"
    for c in body_checks:
        assert cause in c["message"], c["message"]
        assert "connection broke" not in c["message"] and "curl error" not in c["message"], c["message"]
        assert "Likely cause:" in c["message"] and "Reproduce:" in c["message"], c["message"]
        if final:  # a body that does not decode as labelled is not retried to the propagation deadline
            assert c["attempts"] == 1, (c["id"], c["attempts"])
        else:  # a short body is tried again: it is the object's fault because it repeats
            assert c["attempts"] >= 2, (c["id"], c["attempts"])
    # one fault, one cause: on each answer, one check holds the root finding and the others follow from it
    by_answer: dict[str, list[dict]] = {}
    for c in body_checks:
        request = run.doc["exchanges"][c["finding_exchange"]]["request"]
        by_answer.setdefault(f"{request['method']} {request['url']}", []).append(c)
    shared = [group for group in by_answer.values() if len(group) > 1]
    assert shared, f"{fault}: no answer read by several checks: {[c['id'] for c in body_checks]}"
    for group in shared:
        roots = [c for c in group if not c["consequence_of"]]
        assert len(roots) == 1, [(c["id"], c["consequence_of"]) for c in group]
        followers = [c for c in group if c["consequence_of"]]
        for c in followers:
            assert c["consequence_of"] == roots[0]["id"], (c["id"], c["consequence_of"], roots[0]["id"])
            assert f"  Follows:  from the static.body_intact finding of {roots[0]['id']}" in c["message"], c["message"]
        assert f"  Root of:  {len(followers)} other failing check(s) on the same file" in roots[0]["message"]
        assert f"edgeverify: one fault, {len(group)} failing checks: fix the static.body_intact finding first" in run.output
        assert all(c["outcome"] == "failed" for c in followers)  # said, never decided: each still fails


def test_leaf_without_intermediate_names_the_chain_the_edge_sends_and_is_not_retried(lab, run_edgeverify):
    run = run_edgeverify(lab.edge(faults=["cert-no-intermediate"]), str(SUITES / "test_https.py"),
                         "--propagation-timeout=3")
    assert run.returncode == 1, run.output
    cert = [c for c in run.checks if c["rule"] == "https.cert_valid" and c["outcome"] == "failed"]
    assert cert, run.output[-3000:]
    message = cert[0]["message"]
    assert "the edge sends 1 certificate(s)" in message, message
    assert "(1) the edge sends its leaf certificate alone, without the intermediate" in message, message
    assert message.index("without the intermediate") < message.index("--ca-bundle"), message
    assert cert[0]["attempts"] == 1, cert[0]["attempts"]  # the chain does not change by waiting for propagation
    gated = [c for c in run.checks if c["outcome"] == "could_not_judge"]
    assert gated and all("without the intermediate" in (c["message"] or "") for c in gated), gated[:1]  # the root finding


def test_a_shell_served_for_a_missing_chunk_is_one_cause_and_its_consequences(lab, run_edgeverify):
    run = run_edgeverify(lab.edge(faults=["asset-missing", "spa-fallback-all"]), str(SUITES / "test_static.py"),
                         str(SUITES / "test_cache.py"))
    failed = run.failed()
    root = failed.get("static.media_type", "")
    assert "text/html (the SPA fallback page) instead of text/javascript" in root, run.output[-3000:]
    assert "Likely cause: the SPA fallback page stands in for a missing object" in root, root
    others = {rule: text for rule, text in failed.items() if rule != "static.media_type"}
    assert others, run.output[-3000:]
    for rule, text in others.items():  # checks failing on the same exchange point to the root finding
        assert "Likely cause: a consequence of the static.media_type finding on this exchange" in text, (rule, text)
    # and the run model links them: each consequence names the check holding the root finding
    holder = next(c for c in run.checks if c["rule"] == "static.media_type" and c["outcome"] == "failed")
    linked = [c for c in run.checks if c["consequence_of"] == holder["id"]]
    assert {c["rule"] for c in linked} == set(others), (set(others), [(c["id"], c["rule"]) for c in linked])
    assert all(c["finding_root"] == "static.media_type" for c in linked)
