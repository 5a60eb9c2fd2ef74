"""The security grade in every output: the JSON report (schema-valid, read back), Markdown, terminal and HTML."""

import json

import jsonschema

from edgeverify.html import render_run
from edgeverify.model import CheckResult, Outcome, RunResult
from edgeverify.observatory import Answer, Scan, score
from edgeverify.reports import from_json, markdown, report_schema, terminal, to_json

HOST = "www.example.test"


def run_with_grade() -> RunResult:
    # CloudFront's managed SecurityHeadersPolicy alone: no CSP (-25), so B (75)
    page = Answer(f"https://{HOST}/", 200, (("content-type", "text/html"), ("strict-transport-security", "max-age=31536000"),
                                           ("x-content-type-options", "nosniff"), ("x-frame-options", "SAMEORIGIN"),
                                           ("referrer-policy", "strict-origin-when-cross-origin")))
    grade = score(Scan(HOST, page, (Answer(f"http://{HOST}/", 301), page)))
    check = CheckResult(id="suites/test_security.py::test_observatory_grade", outcome=Outcome.FAILED,
                        rule="security.grade", suite="security", summary="grade", severity="fail", message="grade B")
    return RunResult(domain=HOST, target="t.yaml", target_name="t", tool="edgeverify", started_at=1.0e9,
                     finished_at=1.0e9 + 2, checks=(check,), security=grade.to_dict())


def test_grade_in_every_output():
    run = run_with_grade()
    doc = json.loads(json.dumps(to_json(run)))
    jsonschema.validate(doc, report_schema())
    assert doc["security"]["grade"] == "B" and doc["security"]["score"] == 75
    assert from_json(doc).security == doc["security"]
    line = "Security grade B (score 75, computed as MDN HTTP Observatory does); points lost: content-security-policy -25"
    assert line in markdown(run)
    assert f"edgeverify: {line}" in terminal(run)
    html = render_run(doc)
    assert 'id="security-grade"' in html and "Security grade: B (75)" in html and "csp-not-implemented" in html


def test_no_grade_no_section():
    run = run_with_grade()
    doc = to_json(RunResult(**{**{f: getattr(run, f) for f in run.__dataclass_fields__}, "security": None}))
    assert doc["security"] is None and "Security grade" not in markdown(from_json(doc))
    assert 'id="security-grade"' not in render_run(json.loads(json.dumps(doc)))
