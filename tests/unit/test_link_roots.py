"""link_roots(): one fault, one cause — failures that follow from another check's finding on the same file point
at it (no sockets: constructed runs)."""

from __future__ import annotations

import json

import jsonschema

from edgeverify.html import render_run
from edgeverify.model import CheckResult, ExitCode, Finding, Outcome, Release, RunResult, link_roots
from edgeverify.reports import from_json, junit, markdown, report_schema, terminal, to_json

JS = {"request": {"method": "GET", "url": "https://x.test/assets/app.js"}, "address": "127.0.0.1"}
JS_AGAIN = {"request": {"method": "GET", "url": "https://x.test/assets/app.js"}, "address": "127.0.0.1"}  # a repeat
API = {"request": {"method": "OPTIONS", "url": "https://x.test/api/echo"}, "address": "127.0.0.1"}


def failed(cid: str, key: str, rule: str, ref: str, root: str = "") -> CheckResult:
    return CheckResult(id=cid, outcome=Outcome.FAILED, rule=rule, suite=key.split(".")[0], key=key,
                       message=f"FAILED [{rule}] ...", exchanges=(ref,),
                       finding=Finding("e", "a", "cause", "curl", exchange=ref, root=root))


def run_of(*checks: CheckResult) -> RunResult:
    return RunResult(domain="x.test", target="t.yaml", target_name="t", tool="edgeverify t", started_at=1.0,
                     finished_at=2.0, checks=checks, release=Release(),
                     exchanges={"x1": JS, "x2": JS_AGAIN, "x3": API, "x4": API})


def test_a_signature_naming_another_rules_finding_links_to_its_check():
    run = link_roots(run_of(failed("media", "static.media_type[/assets/app.js]", "static.media_type", "x1"),
                            failed("edge_hit", "cache.asset_edge_hit[/assets/app.js]", "cache.asset_edge_hit", "x2",
                                   root="static.media_type")))
    media, edge_hit = run.checks
    assert edge_hit.consequence_of == "media" and media.consequence_of == ""
    assert "Follows:  from the static.media_type finding of media on the same file" in edge_hit.message
    assert "Root of:  1 other failing check(s) on the same file: cache.asset_edge_hit[/assets/app.js]" in media.message
    assert [o.outcome for o in run.checks] == [Outcome.FAILED, Outcome.FAILED]  # said, never decided
    assert run.exit_status is ExitCode.FAILED


def test_a_shared_root_rule_on_one_file_is_held_by_the_check_whose_rule_it_is():
    run = link_roots(run_of(failed("served", "static.served[/assets/app.js]", "static.body_intact", "x1"),
                            failed("body", "static.body_intact[/assets/app.js]", "static.body_intact", "x2"),
                            failed("immutable", "cache.immutable_assets", "static.body_intact", "x1")))
    assert {c.id: c.consequence_of for c in run.checks} == {"served": "body", "body": "", "immutable": "body"}
    lines = terminal(run)
    assert ("edgeverify: one fault, 3 failing checks: fix the static.body_intact finding first "
            "(static.body_intact[/assets/app.js]); static.served[/assets/app.js], cache.immutable_assets fail "
            "only because of it") in lines


def test_checks_of_their_own_rule_on_one_answer_are_not_linked():
    # two origins' preflights of one URL: each its own finding, neither a consequence of the other
    run = run_of(failed("a", "cors.preflight[https://a.test]", "cors.preflight", "x3"),
                 failed("b", "cors.preflight[https://b.test]", "cors.preflight", "x4"))
    assert link_roots(run) is run


def test_every_output_carries_the_link():
    run = link_roots(run_of(failed("edge_hit", "cache.asset_edge_hit[/assets/app.js]", "cache.asset_edge_hit", "x2",
                                   root="static.media_type"),
                            failed("media", "static.media_type[/assets/app.js]", "static.media_type", "x1")))
    doc = json.loads(json.dumps(to_json(run)))
    jsonschema.validate(doc, report_schema())
    assert doc["checks"][0]["consequence_of"] == "media" and doc["checks"][0]["finding_root"] == "static.media_type"
    assert from_json(doc).checks == run.checks
    text = markdown(run)
    assert "Follows:  from the static.media_type finding of media" in text
    assert text.index("### `media`") < text.index("### `edge_hit`")  # the root finding first
    assert 'name="check[edge_hit].consequence_of" value="media"' in junit(run)
    page = render_run(doc)
    assert "<dt>Follows from</dt>" in page and 'href="#check-1"' in page
