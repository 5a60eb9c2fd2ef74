"""The lab edge behaves like a correctly configured CloudFront distribution, and faults change what they name."""
from __future__ import annotations

import gzip
import json
import re
import ssl
import subprocess
import time
import warnings

import pytest
import urllib3

from edgeverify.lab import DOMAIN, FAULTS, Edge, Lab, LabError

HSTS = "max-age=63072000; includeSubDomains"


@pytest.fixture(scope="module")
def good(lab: Lab) -> Edge:
    """The correctly configured edge (named so as not to meet the edgeverify plugin's `edge` fixture)."""
    return lab.edge()


def fetch(edge: Edge, method: str, path: str, *, https: bool = True, headers: dict[str, str] | None = None,
          body: bytes | None = None, verify: bool = True) -> urllib3.BaseHTTPResponse:
    """One request to the edge as www.example.test (SNI, Host, certificate name), raw body (no decoding)."""
    port = int(edge.connect_to[0 if https else 1].rsplit(":", 1)[1])  # proves connect_to is right
    kwargs: dict[str, object] = {"retries": False, "timeout": 5.0}
    if https:
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            "127.0.0.1", port, server_hostname=DOMAIN, assert_hostname=DOMAIN if verify else False,
            ca_certs=edge.ca_bundle, cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE", **kwargs)
    else:
        pool = urllib3.HTTPConnectionPool("127.0.0.1", port, **kwargs)
    with pool:
        return pool.request(method, path, headers={"Host": DOMAIN, **(headers or {})}, body=body,
                            redirect=False, decode_content=False)


def text(response: urllib3.BaseHTTPResponse) -> str:
    data = response.data
    return (gzip.decompress(data) if response.headers.get("Content-Encoding") == "gzip" else data).decode()


def shell_assets(edge: Edge) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', text(fetch(edge, "GET", "/")))


def marker(response: urllib3.BaseHTTPResponse) -> str:
    found = re.search(r'<meta name="release" content="([^"]+)">', text(response))
    return found.group(1) if found else ""


# --- the correct edge ---------------------------------------------------------------------------

def test_http_redirects_301_keeping_path_and_query(good: Edge) -> None:
    r = fetch(good, "GET", "/some/page?q=1&b=two", https=False)
    assert r.status == 301
    assert r.headers["Location"] == f"https://{DOMAIN}/some/page?q=1&b=two"
    assert fetch(good, "POST", "/x", https=False).status == 307


def test_https_headers_and_entry_document(good: Edge, lab: Lab) -> None:
    r = fetch(good, "GET", "/")
    assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Strict-Transport-Security"] == HSTS
    assert re.fullmatch(r"1\.1 [0-9a-f]+\.cloudfront\.net \(CloudFront\)", r.headers["Via"])
    assert r.headers["X-Amz-Cf-Pop"] and r.headers["X-Amz-Cf-Id"]
    assert r.headers["Cache-Control"] == "no-cache" and r.headers["X-Cache"] == "Miss from cloudfront"
    assert marker(r) == lab.release["new"] != lab.release["old"]


def test_assets_typed_compressed_cached_and_validated(good: Edge) -> None:
    js = next(a for a in shell_assets(good) if a.startswith("/assets/app.") and a.endswith(".js"))
    first = fetch(good, "GET", js, headers={"Accept-Encoding": "gzip, br"})
    assert first.status == 200 and first.headers["Content-Type"] == "text/javascript"
    assert first.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in first.headers["Vary"]
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    second = fetch(good, "GET", js)
    assert second.headers["X-Cache"] == "Hit from cloudfront" and "Content-Encoding" not in second.headers
    etag = second.headers["ETag"]
    assert fetch(good, "GET", js, headers={"If-None-Match": etag}).status == 304
    assert fetch(good, "HEAD", js).status == 200


def test_every_referenced_file_is_served(good: Edge) -> None:
    for path in [*shell_assets(good), "/favicon.ico", "/manifest.webmanifest", "/robots.txt"]:
        assert fetch(good, "GET", path).status == 200, path


def test_missing_asset_is_s3_access_denied_and_deep_link_is_the_shell(good: Edge, lab: Lab) -> None:
    missing = fetch(good, "GET", "/assets/missing.js")
    assert missing.status == 403 and missing.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in text(missing)
    assert missing.headers["Strict-Transport-Security"] == HSTS
    assert missing.headers["X-Cache"] == "Error from cloudfront"
    deep = fetch(good, "GET", "/account/settings/7f3a?tab=2")
    assert deep.status == 200 and marker(deep) == lab.release["new"]


def test_methods_on_the_static_behavior(good: Edge) -> None:
    r = fetch(good, "POST", "/", body=b"x")
    assert r.status == 403 and r.headers["Content-Type"].startswith("text/html")
    assert "This distribution is not configured to allow the HTTP request method" in text(r)
    assert r.headers["Strict-Transport-Security"] == HSTS


def test_api_echo_nonce_and_errors(good: Edge) -> None:
    r = fetch(good, "POST", "/api/echo", headers={"Content-Type": "application/json"}, body=b'{"a": [1, 2]}')
    assert r.status == 200 and json.loads(r.data) == {"echo": {"a": [1, 2]}, "method": "POST"}
    assert r.headers["Content-Type"] == "application/json" and r.headers["x-amzn-RequestId"]
    assert fetch(good, "POST", "/api/echo", body=b"{nope").status == 400
    nonces = [fetch(good, "GET", "/api/nonce") for _ in range(2)]
    assert all(n.headers["X-Cache"] != "Hit from cloudfront" for n in nonces)
    assert json.loads(nonces[0].data)["nonce"] != json.loads(nonces[1].data)["nonce"]
    unknown = fetch(good, "GET", "/api/nope")
    assert unknown.status == 404 and json.loads(unknown.data) == {"message": "Not Found"}
    assert json.loads(fetch(good, "DELETE", "/api/health").data) == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize("origin", ["https://www.example.test", "https://app.example.test"])
def test_cors_allowed_origin(good: Edge, origin: str) -> None:
    pre = fetch(good, "OPTIONS", "/api/echo", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert pre.status == 204 and pre.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in pre.headers["Access-Control-Allow-Methods"] and pre.headers["Vary"] == "Origin"
    real = fetch(good, "GET", "/api/health", headers={"Origin": origin})
    assert real.headers["Access-Control-Allow-Origin"] == origin
    assert real.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("origin", ["https://evil.test", "null", "https://www.example.test.evil.test",
                                    "https://evilexample.test", "https://wwwxexample.test", "http://www.example.test"])
def test_cors_refused_origin(good: Edge, origin: str) -> None:
    pre = fetch(good, "OPTIONS", "/api/echo", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert pre.status == 204 and "Access-Control-Allow-Origin" not in pre.headers
    assert "Access-Control-Allow-Origin" not in fetch(good, "GET", "/api/health", headers={"Origin": origin}).headers


def test_tls_1_1_refused(good: Edge) -> None:
    assert not tls_handshake(good, ssl.TLSVersion.TLSv1_1)


# --- faults -------------------------------------------------------------------------------------

def tls_handshake(edge: Edge, version: ssl.TLSVersion) -> bool:
    import socket
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(edge.ca_bundle)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is the point of the probe
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = version
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    port = int(edge.connect_to[0].rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=DOMAIN):
            return True
    except ssl.SSLError:
        return False


def test_fault_catalogue_is_described(lab: Lab) -> None:
    assert len(FAULTS) >= 35 and all(isinstance(v, str) and v for v in FAULTS.values())
    with pytest.raises(ValueError, match="unknown lab fault"):
        lab.edge(("no-such-fault",))


def test_stop_leaves_nothing_running() -> None:
    with Lab() as other:
        e = other.edge(("hsts-missing",))
        root = other.root
        assert fetch(e, "GET", "/robots.txt").status == 200
    with pytest.raises(urllib3.exceptions.HTTPError):
        fetch(e, "GET", "/robots.txt")
    assert not root.exists() and not e.running


def test_missing_nginx_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEVERIFY_NGINX", "/nonexistent/nginx")
    with pytest.raises(LabError, match="nginx not found"), Lab():
        pass


def test_https_faults(lab: Lab) -> None:
    e = lab.edge(("redirect-302", "redirect-drops-query", "hsts-short", "hsts-missing-on-errors", "tls-legacy"))
    r = fetch(e, "GET", "/p?q=1", https=False)
    assert r.status == 302 and r.headers["Location"] == f"https://{DOMAIN}/p"
    assert fetch(e, "GET", "/").headers["Strict-Transport-Security"] == "max-age=300; includeSubDomains"
    assert "Strict-Transport-Security" not in fetch(e, "GET", "/assets/missing.js").headers
    assert tls_handshake(e, ssl.TLSVersion.TLSv1) and tls_handshake(e, ssl.TLSVersion.TLSv1_1)
    assert fetch(lab.edge(("http-no-redirect",)), "GET", "/", https=False).status == 200
    assert fetch(lab.edge(("redirect-wrong-host",)), "GET", "/p", https=False).headers["Location"] == \
        "https://d111111abcdef8.cloudfront.net/p"


@pytest.mark.parametrize("fault", ["cert-wrong-name", "cert-untrusted"])
def test_certificate_faults_fail_verification(lab: Lab, fault: str) -> None:
    with pytest.raises(urllib3.exceptions.SSLError):
        fetch(lab.edge((fault,)), "GET", "/")


def test_cert_expiring(lab: Lab) -> None:
    result = subprocess.run(
        ["openssl", "s_client", "-connect", lab.edge(("cert-expiring",)).connect_to[0].split(":", 2)[2],
         "-servername", DOMAIN], input=b"", capture_output=True, timeout=10)
    pem = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", result.stdout, re.S)
    assert pem is not None
    end = subprocess.run(["openssl", "x509", "-noout", "-checkend", str(6 * 86400)], input=pem.group(0),
                         capture_output=True)
    assert end.returncode == 1  # expires within 6 days


def test_static_and_cache_faults(lab: Lab) -> None:
    e = lab.edge(("asset-missing", "script-wrong-type", "compression-off", "no-validators", "leaky-headers",
                  "assets-not-cached", "html-cached-long"))
    index = fetch(e, "GET", "/")
    assert index.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "ETag" not in index.headers and "Last-Modified" not in index.headers
    assert index.headers["X-Powered-By"] == "Express" and re.match(r"nginx/\d", index.headers["Server"])
    statuses = {a: fetch(e, "GET", a).status for a in shell_assets(e)}
    assert sorted(statuses.values()).count(403) == 1 and any("/chunk." in a for a, s in statuses.items() if s == 403)
    js = next(a for a, s in statuses.items() if s == 200 and a.endswith(".js"))
    r = fetch(e, "GET", js, headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Type"] == "text/plain" and "Content-Encoding" not in r.headers
    assert r.headers["Cache-Control"] == "max-age=60"
    assert fetch(lab.edge(("cache-conflicting",)), "GET", "/").headers["Cache-Control"] == "no-store, max-age=600"


def test_api_faults(lab: Lab) -> None:
    e = lab.edge(("post-not-allowed", "api-cached"))
    blocked = fetch(e, "POST", "/api/echo", body=b"{}")
    assert blocked.status == 403 and "not configured to allow the HTTP request method" in text(blocked)
    first, second = fetch(e, "GET", "/api/nonce"), fetch(e, "GET", "/api/nonce")
    assert second.headers["X-Cache"] == "Hit from cloudfront" and first.data == second.data
    down = fetch(lab.edge(("api-origin-down",)), "GET", "/api/health")
    assert down.status == 502 and down.headers["X-Cache"] == "Error from cloudfront"
    assert "CloudFront" in text(down) and down.headers["Strict-Transport-Security"] == HSTS
    doubled = fetch(lab.edge(("api-origin-path-doubled",)), "GET", "/api/health")
    assert (doubled.status, json.loads(doubled.data)) == (403, {"message": "Missing Authentication Token"})
    forwarded = fetch(lab.edge(("api-host-forwarded",)), "GET", "/api/health")
    assert (forwarded.status, json.loads(forwarded.data)) == (403, {"message": "Forbidden"})


@pytest.mark.parametrize(("fault", "origin", "acao"), [
    ("cors-reflect-any", "https://evil.test", "https://evil.test"),
    ("cors-allow-null", "null", "null"),
    ("cors-lookalike", "https://evilexample.test", "https://evilexample.test"),
    ("cors-lookalike", "https://www.example.test.evil.test", "https://www.example.test.evil.test"),
    ("cors-http-origin", "http://www.example.test", "http://www.example.test"),
    ("cors-wildcard-credentials", "https://evil.test", "*"),
])
def test_cors_faults(lab: Lab, fault: str, origin: str, acao: str) -> None:
    r = fetch(lab.edge((fault,)), "GET", "/api/health", headers={"Origin": origin})
    assert r.headers.get("Access-Control-Allow-Origin") == acao
    assert r.headers["Access-Control-Allow-Credentials"] == "true"


def test_cors_no_vary_and_preflight_blocked(lab: Lab) -> None:
    r = fetch(lab.edge(("cors-no-vary",)), "GET", "/api/health", headers={"Origin": "https://www.example.test"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://www.example.test" and "Vary" not in r.headers
    pre = fetch(lab.edge(("preflight-blocked",)), "OPTIONS", "/api/echo", headers={"Origin": "https://www.example.test"})
    assert pre.status == 403 and "not configured to allow" in text(pre)


def test_spa_faults(lab: Lab) -> None:
    none = fetch(lab.edge(("no-spa-fallback",)), "GET", "/deep/link")
    assert none.status == 403 and "AccessDenied" in text(none)
    everything = lab.edge(("spa-fallback-all",))
    for path in ("/deep/link", "/assets/missing.js", "/api/nope"):
        r = fetch(everything, "GET", path)
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html"), path
    swallow = lab.edge(("spa-swallows-api-errors",))
    assert fetch(swallow, "GET", "/api/nope").status == 200
    assert fetch(swallow, "GET", "/assets/missing.js").status == 403
    shell = fetch(lab.edge(("post-root-shell",)), "POST", "/", body=b"a=1")
    assert shell.status == 200 and "<meta name=\"release\"" in text(shell)


def test_old_release_switches_to_new(lab: Lab) -> None:
    e = lab.edge(old_release_for=5.0)  # 5 s from the edge's start: room for a loaded machine's first requests
    assert marker(fetch(e, "GET", "/")) == lab.release["old"]
    assert all(fetch(e, "GET", a).status == 200 for a in shell_assets(e))  # old assets stay in the bucket
    time.sleep(max(0.0, e.switch_at - time.time()) + 0.2)  # past the switch, however long the above took
    assert marker(fetch(e, "GET", "/")) == lab.release["new"]
    assert marker(fetch(lab.edge(old_release_for=float("inf")), "GET", "/")) == lab.release["old"]
