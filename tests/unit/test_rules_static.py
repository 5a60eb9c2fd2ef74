"""static rules on canned exchanges: each passes on a correct answer and fails with what to change."""

import pytest

from edgeverify.exchange import Exchange
from edgeverify.rules import Violation, static

JS = b"export const x = 1;\n" * 200  # 4,000 bytes


def ex(path: str, status: int | None = 200, headers: list[tuple[str, str]] | None = None, body: bytes = b"",
       method: str = "GET", request_headers: list[tuple[str, str]] | None = None) -> Exchange:
    return Exchange(method, f"https://www.example.com{path}", request_headers=request_headers or [], status=status,
                    reason={200: "OK", 304: "Not Modified", 403: "Forbidden"}.get(status or 0, ""),
                    headers=headers or [], body=body, error=None if status else "connection refused")


def js(path: str = "/assets/app.1a2b3c4d.js", ctype: str = "text/javascript", **extra: str) -> Exchange:
    headers = [("Content-Type", ctype), ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding"),
               ("ETag", 'W/"abc"'), ("Server", "AmazonS3")] + list(extra.items())
    return ex(path, headers=headers, body=JS)


def violation(check, *args) -> Violation:
    with pytest.raises(Violation) as info:
        check(*args)
    return info.value


def test_served_passes_on_200_and_lists_each_missing_file():
    static.check_served([js(), ex("/")])
    v = violation(static.check_served, [js(), ex("/assets/a.js", 403), ex("/assets/b.js", None)], "assets")
    assert v.rule.id == "static.served"
    assert "2 of 3 assets" in v.actual and "/assets/a.js: 403 Forbidden" in v.actual and "/assets/b.js" in v.actual
    assert v.exchange is not None and v.exchange.url.endswith("/assets/a.js")
    assert "deploy skipped it" in (v.cause or "")


def test_served_caps_the_list():
    v = violation(static.check_served, [ex(f"/assets/{i}.js", 403) for i in range(15)])
    assert "15 of 15" in v.actual and "and 5 more" in v.actual and "/assets/10.js" not in v.actual


def test_head_passes_on_200_and_fails_otherwise():
    static.check_head([ex("/", method="HEAD")])
    v = violation(static.check_head, [ex("/assets/a.js", 403, method="HEAD")])
    assert v.rule.id == "static.head" and "403" in v.actual and "missing from the bucket" in (v.cause or "")


@pytest.mark.parametrize("path,ctype", [("/assets/app.js", "application/javascript"), ("/a.css", "text/css"),
                                        ("/", "text/html"), ("/x.json", "application/json"),
                                        ("/manifest.webmanifest", "application/manifest+json"),
                                        ("/unknown.bin", "application/x-whatever")])
def test_media_type_accepts_the_files_own_type(path, ctype):
    static.check_media_types([ex(path, headers=[("Content-Type", ctype + "; charset=utf-8")])])


def test_media_type_refuses_text_plain_scripts_and_says_how_to_upload():
    v = violation(static.check_media_types, [js(ctype="text/plain"), js("/b.js", ctype="binary/octet-stream")])
    assert v.rule.id == "static.media_type"
    assert "text/plain instead of text/javascript" in v.actual and "binary/octet-stream" in v.actual
    assert "Content-Type text/javascript" in (v.cause or "")


def test_media_type_spots_the_spa_fallback_for_an_asset():
    v = violation(static.check_media_types, [ex("/assets/chunk.9f8e7d6c.js", headers=[("Content-Type", "text/html")])])
    assert "SPA fallback" in v.actual and "custom error response" in (v.cause or "")
    static.check_media_types([ex("/assets/chunk.js", 403, headers=[("Content-Type", "text/html")])])  # served's job


def test_compressed_passes_with_encoding_and_vary_and_ignores_small_or_binary_files():
    static.check_compressed([js(), ex("/small.js", headers=[("Content-Type", "text/javascript")], body=b"x" * 999),
                             ex("/i.png", headers=[("Content-Type", "image/png")], body=b"x" * 5000)], 1000, 10_000_000)


def test_compressed_fails_uncompressed_or_without_vary():
    plain = ex("/a.css", headers=[("Content-Type", "text/css")], body=b"a{}" * 1000)
    v = violation(static.check_compressed, [plain], 1000, 10_000_000)
    assert v.rule.id == "static.compressed" and "uncompressed" in v.actual
    assert "Compress objects automatically" in (v.cause or "")
    no_vary = ex("/a.css", headers=[("Content-Type", "text/css"), ("Content-Encoding", "br")], body=b"a{}" * 1000)
    v = violation(static.check_compressed, [no_vary], 1000, 10_000_000)
    assert "without Vary: Accept-Encoding" in v.actual and "Vary" in (v.cause or "")


def test_compressed_honours_the_target_thresholds():
    plain = ex("/a.css", headers=[("Content-Type", "text/css")], body=b"a{}" * 1000)
    static.check_compressed([plain], 5000, 10_000_000)
    assert static.compression_problem(plain, 1000, 2000) is None


def test_validators_need_an_etag_or_last_modified():
    static.check_validators([js(), ex("/", headers=[("Last-Modified", "Wed, 25 Nov 2026 10:00:00 GMT")])])
    v = violation(static.check_validators, [ex("/", headers=[("Content-Type", "text/html")])])
    assert v.rule.id == "static.validators" and "neither ETag nor Last-Modified" in v.actual
    assert "strips" in (v.cause or "")


def test_revalidation_headers_use_the_etag_then_last_modified():
    assert (js()).revalidation_headers() == {"If-None-Match": 'W/"abc"'}
    lm = "Wed, 25 Nov 2026 10:00:00 GMT"
    assert (ex("/", headers=[("Last-Modified", lm)])).revalidation_headers() == {"If-Modified-Since": lm}
    assert (ex("/")).revalidation_headers() is None
    assert (ex("/", 403, headers=[("ETag", '"x"')])).revalidation_headers() is None


def test_conditional_get_wants_304():
    full = js()
    static.check_conditional_get([(full, ex(full.url[25:], 304))])
    again = ex("/assets/app.1a2b3c4d.js", 200, request_headers=[("If-None-Match", 'W/"abc"')], body=JS)
    v = violation(static.check_conditional_get, [(full, again)])
    assert v.rule.id == "static.conditional_get" and "200 OK to If-None-Match: W/\"abc\"" in v.actual
    assert v.exchange is again
    v = violation(static.check_conditional_get, [(ex("/", body=b"<html>"), None)])
    assert "no ETag or Last-Modified" in v.actual


def test_leaky_headers_is_advisory_and_names_each_banner():
    static.check_leaky_headers([js(), ex("/", headers=[("Server", "CloudFront")])])
    v = violation(static.check_leaky_headers, [ex("/", headers=[("X-Powered-By", "Express"),
                                                                ("Server", "nginx/1.22.1")])])
    assert v.advisory and v.rule.id == "static.leaky_headers"
    assert "X-Powered-By: Express" in v.actual and "Server: nginx/1.22.1" in v.actual
    assert "RemoveHeadersConfig" in (v.cause or "")


def test_a_violation_renders_expected_actual_cause_and_reproduce():
    text = violation(static.check_served, [ex("/assets/a.js", 403)]).render()
    for part in ("FAILED [static.served]", "Expected:", "Actual:", "Likely cause:", "Reproduce: curl"):
        assert part in text


def test_an_etag_that_changes_per_response_is_confirmed_from_the_etags_seen():
    full = ex("/", headers=[("ETag", '"aaa"'), ("Content-Type", "text/html")], body=b"<html>")
    again = ex("/", 200, headers=[("ETag", '"bbb"'), ("Content-Type", "text/html")], body=b"<html>",
               request_headers=[("If-None-Match", '"aaa"')])
    v = violation(static.check_conditional_get, [(full, again)])
    assert "(and a new ETag: \"bbb\")" in v.actual
    assert 'the ETag changes on every response, confirmed by the ETags seen (/: "aaa" then "bbb")' in v.render()
    same = ex("/", 200, headers=[("ETag", '"aaa"')], body=b"<html>", request_headers=[("If-None-Match", '"aaa"')])
    assert "confirmed by the ETags seen" not in violation(static.check_conditional_get, [(full, same)]).render()
