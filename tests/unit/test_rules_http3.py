"""https.http3 over recorded exchanges (no socket), and whether this libcurl can make an HTTP/3 request."""

import pycurl
import pytest

from edgeverify import http3 as client
from edgeverify.exchange import Exchange
from edgeverify.rules import Violation
from edgeverify.rules.http3 import check_advertised, check_same_answer

# CloudFront's advertisement with HttpVersion http2and3, as seen on a live distribution (pulumi/docs#18478).
ALT_SVC = 'h3=":443"; ma=86400'


def answer(status=200, body=b"<!doctype html><title>Example app</title>", alt=ALT_SVC, version="2"):
    ex = Exchange("GET", "https://www.example.test/", status=status, reason="OK", body=body,
                  headers=[("content-type", "text/html")] + ([("alt-svc", alt)] if alt else []))
    ex.http_version = version
    return ex


def test_advertised_and_the_same_answer_passes():
    check_advertised(answer())
    check_same_answer(answer(), answer(alt=None, version="3"), "curl --http3-only ...")


@pytest.mark.parametrize("alt", [None, 'h2=":443"'])
def test_no_h3_in_alt_svc_is_advised(alt):
    with pytest.raises(Violation) as info:
        check_advertised(answer(alt=alt))
    assert info.value.advisory and "http2and3" in info.value.render()


def test_no_http3_answer_and_another_answer_are_advised():
    silent = Exchange("GET", "https://www.example.test/", error="no HTTP/3 answer: Failed sending data to the peer")
    with pytest.raises(Violation) as info:
        check_same_answer(answer(), silent, "curl --http3-only https://www.example.test/")
    text = info.value.render()
    assert "UDP 443" in text and "Reproduce: curl --http3-only" in text
    with pytest.raises(Violation, match="another document"):
        check_same_answer(answer(), answer(body=b"old release", version="3"), "curl --http3-only ...")


def test_a_libcurl_without_http3_is_said(monkeypatch):
    info = list(pycurl.version_info())
    info[4] = info[4] & ~getattr(pycurl, "VERSION_HTTP3", 0)
    monkeypatch.setattr(pycurl, "version_info", lambda: tuple(info))
    assert "built without HTTP/3" in (client.unavailable() or "")
