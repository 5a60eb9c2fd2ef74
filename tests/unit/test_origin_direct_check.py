"""The security.origin_direct check (suites/test_security.py) on scripted answers, no sockets: what it asks each
origin endpoint, with which headers, and how it judges a public and a refusing set of origins."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from edgeverify.evidence import Attempt, Run
from edgeverify.rules import Violation
from edgeverify.target import load_target
from edgeverify.transport import Answer, ReplayTransport
from suites.test_security import test_origins_refuse_direct_requests as origin_check

SHELL = b'<!doctype html><html><head><script type="module" src="/assets/app.1a2b3c4d.js"></script>' \
        b'<link rel="icon" href="/favicon.ico"></head></html>'
APP = b"console.log('app')"
TARGET = """\
domain: www.example.test
headers: {Authorization: "Bearer not-for-s3", X-Team: web}
api:
  calls:
    - {path: /api/health}
    - {path: /api/echo, method: POST, json: {a: 1}}
origins:
  bucket: https://site.s3.eu-west-1.amazonaws.com/release
  website: http://site.s3-website-eu-west-1.amazonaws.com
  api: https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod
"""
HTML = (("content-type", "text/html"),)
JS = (("content-type", "text/javascript"), ("etag", '"js1"'))
JSON = (("content-type", "application/json"),)
DENIED = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'


def content(path: str) -> Answer:
    if path.startswith("/api/"):
        return Answer(200, JSON, b'{"status":"ok"}', reason="OK")
    return Answer(200, JS, APP, reason="OK") if path.endswith(".js") else Answer(200, HTML, SHELL, reason="OK")


def script(public: bool):
    def answer(asked) -> Answer:
        url = urlsplit(asked.url)
        if url.hostname == "www.example.test":
            return content(url.path)
        if public:  # every origin answers what it holds, its own path prefix (stage, origin path) removed
            return content(url.path.removeprefix("/release").removeprefix("/prod").replace("/index.html", "/"))
        if ".execute-api." in url.hostname:
            return Answer(403, JSON + (("x-amzn-errortype", "ForbiddenException"),), b'{"message":"Forbidden"}',
                          reason="Forbidden")
        if ".s3-website" in url.hostname:
            return Answer(403, HTML, b"<html><body><h1>403 Forbidden</h1><ul><li>Code: AccessDenied</li></ul></body>",
                          reason="Forbidden")
        return Answer(403, (("content-type", "application/xml"),), DENIED, reason="Forbidden")
    return answer


@pytest.fixture
def site(tmp_path):  # not `target`: that name makes the plugin look for a --target
    path = tmp_path / "site.yaml"
    path.write_text(TARGET)
    return load_target(path)


def judge(target, public: bool) -> tuple[Attempt, ReplayTransport]:
    transport = ReplayTransport(target, script(public))
    attempt = Attempt(Run(target, transport))
    try:
        origin_check(edge=attempt, target=target)
    finally:
        transport.close()
    return attempt, transport


def test_refusing_origins_pass_and_say_how_each_refused(site):
    attempt, transport = judge(site, public=False)
    direct = {a.url: dict(a.headers) for a in transport.asked if "amazonaws.com" in a.url}
    assert set(direct) == {
        "https://site.s3.eu-west-1.amazonaws.com/release/index.html",
        "https://site.s3.eu-west-1.amazonaws.com/release/assets/app.1a2b3c4d.js",  # a bundle, not the icon
        "http://site.s3-website-eu-west-1.amazonaws.com/",
        "http://site.s3-website-eu-west-1.amazonaws.com/assets/app.1a2b3c4d.js",
        "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/api/health",  # the GET call, never the POST
    }
    # the target's Authorization never reaches S3 (an empty value: none is sent); the API gets the edge's request
    assert all(h.get("Authorization") == "" for u, h in direct.items() if ".s3" in u)
    assert all(h.get("X-Team") is None for h in direct.values())  # the client adds target headers itself
    said = dict(attempt.data["properties"])
    assert said["S3 REST endpoint"] == ("entry document: 403 Forbidden (S3 AccessDenied); asset /assets/app.1a2b3c4d.js: "
                                        "403 Forbidden (S3 AccessDenied)")
    assert said["execute-api URL"] == "API call GET /api/health: 403 Forbidden (API Gateway Forbidden)"
    assert not any(a.method == "POST" for a in transport.asked)


def test_public_origins_fail_with_each_endpoint_named(site):
    with pytest.raises(Violation) as info:
        judge(site, public=True)
    text = info.value.render()
    assert "5 of 5 direct requests" in text
    assert "S3 REST endpoint asset /assets/app.1a2b3c4d.js: GET https://site.s3.eu-west-1.amazonaws.com/release/assets/" \
           "app.1a2b3c4d.js -> 200 OK, the same 18 bytes the edge serves" in text
    assert "execute-api URL API call GET /api/health: GET https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/" \
           "api/health -> 200 OK, the same 15 bytes the edge serves" in text
    assert "Reproduce: curl" in text and "https://site.s3.eu-west-1.amazonaws.com/release/index.html" in text
