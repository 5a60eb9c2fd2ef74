"""spa rules on canned exchanges: each passes on a correct answer and fails, naming the cause, on a wrong one."""

import pytest

from edgeverify.exchange import Exchange
from edgeverify.rules import Violation, spa

MARKER = "build-42"
SHELL = f'<!doctype html><html><head><meta name="release" content="{MARKER}"><title>Example  app</title></head></html>'
OTHER = "<!doctype html><html><head><title>Maintenance</title></head><body>Back soon</body></html>"
ACCESS_DENIED = "<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"


def ex(path, status=200, body=SHELL, ctype="text/html", method="GET"):
    return Exchange(method=method, url=f"https://www.example.test{path}", status=status, reason="",
                    headers=[("Content-Type", ctype)] if ctype else [], body=body.encode())


ENTRY = ex("/")


@pytest.mark.parametrize("entry, marker", [(None, MARKER), (ENTRY, None)])
def test_deep_link_passes_with_the_shell(entry, marker):
    spa.check_deep_link(ex("/dashboard"), entry, marker)


def test_deep_link_compares_body_hash_without_title():
    plain = "<html><body>app</body></html>"
    spa.check_deep_link(ex("/x", body=plain), ex("/", body=plain + "\n "), None)
    with pytest.raises(Violation, match="body hash"):
        spa.check_deep_link(ex("/x", body=plain + "!"), ex("/", body=plain), None)


def test_deep_link_without_fallback_says_so_not_missing_upload():
    with pytest.raises(Violation) as err:
        spa.check_deep_link(ex("/dashboard", 403, ACCESS_DENIED, "application/xml"), None, MARKER)
    text = err.value.render()
    assert "no SPA fallback: S3 has no object /dashboard" in text
    assert "viewer-request CloudFront Function" in text
    assert "check the deploy uploaded it" not in text


def test_deep_link_fails_on_another_document():
    with pytest.raises(Violation) as err:
        spa.check_deep_link(ex("/dashboard", body=OTHER), ENTRY, None)
    assert "<title> 'Maintenance' instead of the entry page's 'Example app'" in err.value.actual
    with pytest.raises(Violation, match="release marker 'build-42' absent"):
        spa.check_deep_link(ex("/dashboard", body=OTHER), None, MARKER)


def test_deep_link_fails_on_wrong_type_and_on_a_failing_entry_page():
    with pytest.raises(Violation, match="application/json"):
        spa.check_deep_link(ex("/dashboard", ctype="application/json"), None, MARKER)
    with pytest.raises(Violation, match="for the entry page"):
        spa.check_deep_link(ex("/dashboard"), ex("/", 500, "oops"), None)


def test_api_error_kept_passes_on_json_error():
    spa.check_api_error_kept(ex("/api/nope", 404, '{"message":"Not Found"}', "application/json"), ENTRY, None)


@pytest.mark.parametrize("marker, entry", [(MARKER, None), (None, ENTRY)])
def test_api_error_swallowed_by_the_shell_fails(marker, entry):
    with pytest.raises(Violation) as err:
        spa.check_api_error_kept(ex("/api/nope"), entry, marker)
    text = err.value.render()
    assert "200 text/html for the unknown API route /api/nope: the app shell" in text
    assert "remove the 403/404 -> /index.html mapping" in text


def test_post_root():
    spa.check_post_root(ex("/", 403, "<HTML>403 ERROR</HTML>", method="POST"), None, MARKER)
    with pytest.raises(Violation) as err:
        spa.check_post_root(ex("/", method="POST"), None, MARKER)
    assert "200 text/html for POST /: the app shell" in err.value.actual
    assert "AllowedMethods to GET, HEAD" in err.value.render()


def test_asset_fallback_is_advisory():
    spa.check_asset_fallback(ex("/assets/missing-1.js", 403, ACCESS_DENIED, "application/xml"))
    with pytest.raises(Violation) as err:
        spa.check_asset_fallback(ex("/assets/missing-1.js"))
    assert err.value.advisory
    assert err.value.render().startswith("ADVISORY [spa.asset_fallback]")


def test_title_and_same_document():
    assert spa.title("<TITLE>\n A &amp; B </title>") == "A & B"
    assert spa.title("<html></html>") is None
    assert spa.same_document(ex("/a"), None, None) == (False, "no entry page to compare with")
