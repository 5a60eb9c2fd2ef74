"""security.origin_direct on recorded exchanges (no sockets): refusals told from content by content, not status.

The refusals are real answers from public sources: S3's AccessDenied XML and API Gateway's {"message":"Forbidden"}
from tests/data/corpus, the website endpoint's error pages from tests/data/origin_refusals.yaml."""

from __future__ import annotations

import sys
from http import HTTPStatus
from pathlib import Path

import pytest
import yaml

from edgeverify.exchange import Exchange
from edgeverify.rules import Violation
from edgeverify.rules.origin_direct import (Probe, check_origin_direct, content, direct_url, endpoints_of_distribution,
                                            refusal, refusals)

DATA = Path(__file__).resolve().parents[1] / "data"
ENDPOINTS = {"bucket": "https://site-bucket.s3.eu-west-1.amazonaws.com",
             "website": "http://site-bucket.s3-website-eu-west-1.amazonaws.com",
             "api": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod"}
SHELL = b'<!doctype html><html><head><script type="module" src="/assets/app.3f2a9c1b.js"></script></head></html>'
CONNECT = ("site-bucket.s3.eu-west-1.amazonaws.com:443:127.0.0.1:8443", "www.example.test:443:127.0.0.1:8443")


def entry(source: str, entry_id: str) -> dict:
    return next(e for e in yaml.safe_load((DATA / source).read_text()) if e["id"] == entry_id)


def recorded(url: str, status: int, body: bytes | str, headers=(), ctype: str | None = None, kept: bool = True,
             size: int | None = None) -> Exchange:
    body = body.encode() if isinstance(body, str) else body
    hdrs = [tuple(h) for h in headers] + ([("Content-Type", ctype)] if ctype else [])
    return Exchange(method="GET", url=url, status=status, reason=HTTPStatus(status).phrase, headers=hdrs, body=body if kept else b"",
                    body_size=len(body) if size is None else size, body_kept=kept, connect_to=CONNECT)


def edge(path: str, body: bytes = SHELL, ctype: str = "text/html", **kw) -> Exchange:
    return recorded(f"https://www.example.test{path}", 200, body, ctype=ctype, **kw)


def violation(probes) -> str:
    with pytest.raises(Violation) as info:
        check_origin_direct(probes, ENDPOINTS)
    text = info.value.render()
    for part in ("Expected:", "Actual:", "Likely cause:", "Reproduce: curl"):
        assert part in text
    return text


@pytest.mark.parametrize(("source", "entry_id", "kind", "said"), [
    ("corpus/s3.yaml", "s3-403-accessdenied-oai-wa-labs", "bucket", "S3 AccessDenied"),
    ("corpus/heldout.yaml", "s3-403-deleted-image-glowfic", "bucket", "S3 AccessDenied"),
    ("corpus/apigateway.yaml", "apigw-forbidden-wallboard", "api", "API Gateway Forbidden"),
    ("corpus/apigateway.yaml", "apigw-forbidden-usage-plan-screenshot", "api", "API Gateway Forbidden"),
    ("origin_refusals.yaml", "website-403-accessdenied", "website", "S3 website AccessDenied"),
    ("origin_refusals.yaml", "website-403-accessdenied-error-document", "website", "S3 website AccessDenied"),
    ("origin_refusals.yaml", "website-404-no-website-configuration", "website", "S3 website NoSuchWebsiteConfiguration"),
])
def test_real_refusals_pass(source, entry_id, kind, said):
    found = entry(source, entry_id)
    ex = recorded(direct_url(kind, ENDPOINTS[kind], found["request"]["path"]), found["status"], found["body"],
                  found["headers"])
    assert refusal(ex) == said
    probe = Probe(kind, "entry document", ex, edge("/"))
    check_origin_direct([probe], ENDPOINTS)  # no violation
    assert said in refusals([probe])[0][1]


def test_the_edge_content_from_the_bucket_fails_naming_block_public_access_and_source_arn():
    direct = recorded("https://site-bucket.s3.eu-west-1.amazonaws.com/index.html", 200, SHELL, ctype="text/html")
    text = violation([Probe("bucket", "entry document", direct, edge("/"))])
    assert f"200 OK, the same {len(SHELL)} bytes the edge serves" in text
    assert "Block Public Access" in text and "aws:SourceArn" in text and "cloudfront.amazonaws.com" in text
    # the curl line dials the bucket's name through its own mapping, not the domain's
    assert ("--connect-to site-bucket.s3.eu-west-1.amazonaws.com:443:127.0.0.1:8443" in text
            and "--connect-to www.example.test" not in text)


def test_a_website_error_document_answering_the_shell_with_404_is_content_not_a_refusal():
    # ErrorDocument index.html: the classic SPA-on-the-website-endpoint setup answers the app with 404
    direct = recorded("http://site-bucket.s3-website-eu-west-1.amazonaws.com/", 404, SHELL, ctype="text/html")
    probe = Probe("website", "entry document", direct, edge("/"))
    assert content(probe) == f"the same {len(SHELL)} bytes the edge serves (with status 404)"
    text = violation([probe])
    assert "delete-bucket-website --bucket site-bucket" in text and "Origin Access Control" in text


def test_an_open_execute_api_url_fails_naming_disable_execute_api_endpoint_and_the_origin_header():
    direct = recorded("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/api/health", 200,
                      '{"status":"ok"}', ctype="application/json")
    through = recorded("https://www.example.test/api/health", 200, '{"status":"ok"}', ctype="application/json")
    text = violation([Probe("api", "API call GET /api/health", direct, through)])
    assert "disableExecuteApiEndpoint" in text and "--rest-api-id a1b2c3d4e5" in text
    assert "OriginCustomHeaders" in text


def test_an_asset_body_not_kept_is_compared_by_size_and_etag():
    tag = [("ETag", '"9b2cf535f27731c974343645a3985328"')]
    through = edge("/assets/app.3f2a9c1b.js", b"x" * 5000, "text/javascript", kept=False, headers=tag)
    same = recorded("https://site-bucket.s3.eu-west-1.amazonaws.com/assets/app.3f2a9c1b.js", 200, b"x" * 5000, tag,
                    "text/javascript", kept=False)
    assert content(Probe("bucket", "asset", same, through)) == "the same 5,000 bytes the edge serves"
    other = recorded(same.url, 200, b"y" * 4000, [("ETag", '"other"')], "text/javascript", kept=False)
    assert content(Probe("bucket", "asset", other, through)) == "4,000 bytes of text/javascript content"


def test_not_content_redirects_and_unknown_errors_pass():
    # a website endpoint redirecting every request to the domain (RedirectAllRequestsTo) is not public content
    moved = recorded("http://site-bucket.s3-website-eu-west-1.amazonaws.com/", 301, "",
                     [("Location", "https://www.example.test/")])
    broken = recorded("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/api/health", 502,
                      '{"message": "Internal server error"}', ctype="application/json")
    check_origin_direct([Probe("website", "entry document", moved, edge("/")),
                         Probe("api", "API call GET /api/health", broken, edge("/api/health"))], ENDPOINTS)


def test_a_refusal_body_is_never_content_even_when_the_edge_answers_the_same_error():
    # both answer API Gateway's own 403 (an unknown route): the origin refused, whatever the edge says
    body = '{"message":"Missing Authentication Token"}'
    direct = recorded("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/api/nope", 403, body)
    through = recorded("https://www.example.test/api/nope", 403, body)
    assert content(Probe("api", "API route /api/nope", direct, through)) is None


def test_direct_urls_keep_the_origin_path_and_give_the_rest_endpoint_its_root_object():
    assert direct_url("bucket", ENDPOINTS["bucket"], "/") == "https://site-bucket.s3.eu-west-1.amazonaws.com/index.html"
    assert direct_url("bucket", ENDPOINTS["bucket"] + "/release", "/docs/?a=1") == \
        "https://site-bucket.s3.eu-west-1.amazonaws.com/release/docs/index.html?a=1"
    assert direct_url("website", ENDPOINTS["website"], "/") == "http://site-bucket.s3-website-eu-west-1.amazonaws.com/"
    assert direct_url("api", ENDPOINTS["api"], "/api/health") == \
        "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/api/health"


def test_endpoints_read_from_a_distribution_config():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "aws"))
    from moto_configs import good_config, seed_config

    assert endpoints_of_distribution(good_config()) == {
        "bucket": "https://site-bucket.s3.eu-west-1.amazonaws.com",
        "api": "https://lab0api.execute-api.us-east-1.amazonaws.com"}
    config = seed_config()
    config["Origins"]["Items"][0].update(DomainName="my-bucket.s3-website-us-east-1.amazonaws.com")
    config["Origins"]["Items"][1]["OriginPath"] = "/prod"
    assert endpoints_of_distribution(config) == {
        "website": "http://my-bucket.s3-website-us-east-1.amazonaws.com",
        "api": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod"}
