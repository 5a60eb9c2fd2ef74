"""A failing browser check's requests as a HAR 1.2 excerpt (edgeverify/har.py): its shape (checked against the spec's
structure, tests/data/har-1.2.schema.json), its bounds, its redaction, and its way through the run model into the JSON
report (schema 3, additively) and report.html. No browser, no socket: the captured requests below are what Chromium
156 gave for the lab's route-chunk-html fault (edgeverify/browser.py against edgeverify.lab)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from urllib.parse import quote

import jsonschema

from edgeverify import har
from edgeverify.html import render_run
from edgeverify.model import CheckInfo, Outcome, Release, RunResult, Verdict, check_result
from edgeverify.redact import register_secret, secrets_scope
from edgeverify.reports import from_json, report_schema, to_json
from edgeverify.rules import Violation
from edgeverify.rules.browser import SUBRESOURCES

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "har-1.2.schema.json").read_text())
ROUTE = "https://www.example.test/assets/route.7454b76d.js"
TIMING = {"startTime": 1796405878349.2, "domainLookupStart": -1, "domainLookupEnd": -1, "connectStart": -1,
          "secureConnectionStart": -1, "connectEnd": -1, "requestStart": 1.1, "responseStart": 60.5,
          "responseEnd": 95.0}
SECRET = "s3cr3t-Token/with+chars=="


def captured(**kw) -> list[har.Captured]:
    document = har.Captured(
        "GET", "https://www.example.test/", [(":method", "GET"), ("accept", "text/html"),
                                             ("authorization", "Basic dXNlcjpwYXNz"), ("cookie", "lab_session=abc")],
        status=200, status_text="", http_version="HTTP/2.0", timing=dict(TIMING, connectStart=0.5, connectEnd=278.6,
                                                                          secureConnectionStart=1.0),
        response_headers=[("content-type", "text/html; charset=utf-8"), ("cache-control", "no-cache"),
                          ("set-cookie", "lab_session=0f1e2d; Path=/; Secure; HttpOnly; SameSite=Lax")],
        body=b"<!doctype html>\n<html lang=\"en\">...</html>\n", problem="the page's document")
    chunk = har.Captured("GET", ROUTE, [("accept", "*/*"), ("sec-fetch-dest", "script")], status=200,
                         http_version="HTTP/2.0", timing=TIMING,
                         response_headers=[("content-type", "text/html"), ("x-cache", "Hit from cloudfront")],
                         body=b"/* route chunk, build-2026.11.25-new */\nexport function render(path, config) {}\n",
                         problem="a script answered as text/html: the browser refuses to run it (wrong MIME type)")
    aborted = har.Captured("GET", "https://www.example.test/config.json?v=2", [("accept", "*/*")],
                           timing=TIMING, error="net::ERR_ABORTED", problem="failed: net::ERR_ABORTED")
    for c in (document, chunk, aborted):
        for k, v in kw.items():
            setattr(c, k, v)
    return [document, chunk, aborted]


def test_the_excerpt_has_the_har_1_2_shape_with_the_failing_requests():
    log = har.excerpt("https://www.example.test/", captured(), started_ms=TIMING["startTime"], on_load_ms=1330.0,
                      browser="156.0.8078.114")
    jsonschema.validate(log, SCHEMA)
    entries = log["log"]["entries"]
    assert [e["request"]["url"] for e in entries] == ["https://www.example.test/", ROUTE,
                                                      "https://www.example.test/config.json?v=2"]
    chunk = entries[1]
    assert chunk["response"]["status"] == 200 and chunk["response"]["content"]["mimeType"] == "text/html"
    assert "wrong MIME type" in chunk["comment"] and chunk["timings"]["wait"] == 59.4
    assert chunk["response"]["content"]["text"].startswith("/* route chunk")
    assert entries[2]["response"]["status"] == 0 and entries[2]["response"]["_error"] == "net::ERR_ABORTED"
    assert entries[2]["request"]["queryString"] == [{"name": "v", "value": "2"}]
    assert entries[0]["timings"]["connect"] == 278.1 and entries[0]["timings"]["ssl"] == 277.6
    assert log["log"]["pages"][0]["pageTimings"]["onLoad"] == 1330.0


def test_credentials_and_environment_secrets_never_reach_the_excerpt():
    with secrets_scope():
        register_secret(SECRET, "EDGE_TOKEN")
        log = har.excerpt("https://www.example.test/", captured(
            request_headers=[("x-edge-token", SECRET), ("authorization", f"Bearer {SECRET}"), ("cookie", "a=b")],
            url=f"https://www.example.test/x?token={quote(SECRET, safe='')}",
            body=f'{{"token": "{SECRET}", "b64": "{base64.b64encode(SECRET.encode()).decode()}"}}'.encode(),
            response_headers=[("content-type", "application/json"), ("set-cookie", "session=zz9; Secure")]))
    text = json.dumps(log)
    for form in (SECRET, quote(SECRET, safe=""), base64.b64encode(SECRET.encode()).decode().rstrip("=")):
        assert form not in text
    assert "${EDGE_TOKEN}" in text and "zz9" not in text and "a=b" not in text
    headers = {h["name"]: h["value"] for h in log["log"]["entries"][0]["response"]["headers"]}
    assert headers["set-cookie"] == "<redacted>"
    jsonschema.validate(log, SCHEMA)


def test_the_excerpt_is_bounded():
    many = [har.Captured("GET", f"https://www.example.test/assets/{i}.js", [("x-long", "v" * 5000)], status=404,
                         response_headers=[("content-type", "text/html")], body=b"x" * 100_000,
                         problem="HTTP 404") for i in range(40)]
    log = har.excerpt("https://www.example.test/", many)
    jsonschema.validate(log, SCHEMA)
    assert len(json.dumps(log)) < har.MAX_BYTES + 5_000
    assert len(log["log"]["entries"]) <= har.MAX_ENTRIES and "more left out" in log["log"]["comment"]
    first = log["log"]["entries"][0]
    assert len(first["response"]["content"]["text"]) == har.MAX_BODY and first["response"]["content"]["size"] == 100_000
    assert len(first["request"]["headers"][0]["value"]) < 1100


def _result(outcome_exc, har_log):
    info = CheckInfo("test_browser.py::test_every_request_of_the_page_loads[/]", "browser.subresources", "browser",
                     SUBRESOURCES.summary, "fail", "test_browser.py::test_every_request_of_the_page_loads[/]", "/")
    ending = "passed" if outcome_exc is None else "violation"
    return check_result(info, Verdict(ending, outcome_exc, 1, data={"har": har_log}), (),
                        today=dt.date(2026, 12, 4))


def test_the_excerpt_goes_with_a_failing_check_into_the_json_report_and_report_html():
    log = har.excerpt("https://www.example.test/", captured())
    failed = _result(Violation(SUBRESOURCES, "every request 2xx", f"GET {ROUTE} -> 200 text/html"), log)
    passed = _result(None, log)
    assert failed.outcome is Outcome.FAILED and failed.har is not None and passed.har is None
    run = RunResult(domain="www.example.test", target="targets/local-lab.yaml", target_name="lab", tool="edgeverify t",
                    started_at=1_796_405_878.0, finished_at=1_796_405_880.0, checks=(failed, passed),
                    release=Release("build-1", "passed", 0.0))
    doc = json.loads(json.dumps(to_json(run)))
    jsonschema.validate(doc, report_schema())  # the field is additive: absent on the passed check
    assert "har" in doc["checks"][0] and "har" not in doc["checks"][1]
    jsonschema.validate(doc["checks"][0]["har"], SCHEMA)
    assert from_json(doc).checks[0].har == doc["checks"][0]["har"]
    page = render_run(doc)
    assert '<details class="har">' in page and "a HAR 1.2 excerpt" in page
    assert page.count('<details class="har">') == 1  # the passing check shows none
    assert f"{ROUTE}</td>" in page and "wrong MIME type" in page and "&#34;version&#34;: &#34;1.2&#34;" in page


def test_the_run_model_redacts_the_excerpt_again():
    """A secret registered after the page was captured (another target's ${VAR}) is still kept out."""
    log = har.excerpt("https://www.example.test/", captured(request_headers=[("x-late", "late-secret-value")]))
    with secrets_scope():
        register_secret("late-secret-value", "LATE")
        result = _result(Violation(SUBRESOURCES, "x", "y"), log)
    assert "late-secret-value" not in json.dumps(result.har) and "${LATE}" in json.dumps(result.har)
