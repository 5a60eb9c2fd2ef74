"""static.mixed_content on canned pages: http:// subresources on an https page fail, https and relative pass."""

import pytest

from edgeverify.exchange import Exchange
from edgeverify.rules import Violation
from edgeverify.rules.static import check_mixed_content, mixed_content


def page(html, url="https://www.example.test/"):
    return Exchange("GET", url, status=200, headers=[("Content-Type", "text/html; charset=utf-8")], body=html.encode())


GOOD = ('<link rel="stylesheet" href="/assets/app.css"><script type="module" src="https://www.example.test/a.js">'
        '</script><img src="//cdn.example.test/logo.svg"><a href="http://example.org/">a plain link</a>')
BAD = ('<link rel="stylesheet" href="http://www.example.test/assets/app.css">'
       '<script type="module" src="http://www.example.test/assets/app.js"></script>'
       '<script>fetch("http://api.example.test/data")</script>')


def test_https_and_relative_references_pass():
    assert mixed_content(page(GOOD)) == []
    check_mixed_content([page(GOOD)])


def test_http_subresources_on_an_https_page_fail():
    assert mixed_content(page(BAD)) == ["http://www.example.test/assets/app.css",
                                        "http://www.example.test/assets/app.js", "http://api.example.test/data"]
    with pytest.raises(Violation) as caught:
        check_mixed_content([page(BAD)])
    text = caught.value.render()
    assert "http://www.example.test/assets/app.js" in text and "asset base URL" in text


def test_an_http_page_is_not_judged():
    assert mixed_content(page(BAD, url="http://www.example.test/")) == []
