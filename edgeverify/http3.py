"""One real HTTP/3 request, with libcurl (ngtcp2 + nghttp3) when the pycurl wheel's libcurl carries them.

The main client (client.py) speaks HTTP/1.1 and HTTP/2 over one transfer loop; an HTTP/3 request is a single, bounded
transfer on a handle of its own, through the same --connect-to mapping and CA bundle, so it reaches the same edge on
UDP. When libcurl was built without HTTP/3, `unavailable()` says why and no request is made.
"""

from __future__ import annotations

import time

from .exchange import Exchange
from .target import Target

MAX_BODY = 1_000_000  # the entry document is compared by digest; a bigger body is cut and counted


def unavailable() -> str | None:
    """Why no HTTP/3 request can be made here, or None."""
    import pycurl

    info = pycurl.version_info()
    if not (info[4] & getattr(pycurl, "VERSION_HTTP3", 0)) or not hasattr(pycurl, "CURL_HTTP_VERSION_3ONLY"):
        return (f"this pycurl's libcurl ({pycurl.version}) is built without HTTP/3 (no ngtcp2/nghttp3 in "
                "pycurl.version_info()): no HTTP/3 request was made")
    return None


def request(target: Target, path: str, deadline: float | None = None) -> Exchange:
    """GET `path` over HTTP/3 only (no fallback to TCP); the exchange says what came back or why nothing did."""
    import pycurl

    url = target.url(path)
    ex = Exchange("GET", url, request_headers=[("Accept-Encoding", "identity"), *target.headers.items()],
                  connect_to=tuple(target.connect_to), ca_bundle=target.ca_bundle, insecure=target.insecure)
    total = target.timeouts.total if deadline is None else max(0.1, min(target.timeouts.total,
                                                                         deadline - time.monotonic()))
    headers: list[tuple[str, str]] = []
    body = bytearray()

    def on_header(line: bytes) -> None:
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text.startswith("HTTP/"):
            headers.clear()
        elif ":" in text:
            name, value = text.split(":", 1)
            headers.append((name.strip(), value.strip()))

    def on_body(chunk: bytes) -> int | None:
        if len(body) + len(chunk) > MAX_BODY:
            ex.body_truncated = True
            return 0  # stops the transfer: the body is cut
        body.extend(chunk)
        return None

    curl = pycurl.Curl()
    try:
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.PROXY, "")
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_3ONLY)
        if target.connect_to:
            curl.setopt(pycurl.CONNECT_TO, list(target.connect_to))
        if target.insecure:
            curl.setopt(pycurl.SSL_VERIFYPEER, 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        elif target.ca_bundle:
            curl.setopt(pycurl.CAINFO, target.ca_bundle)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(target.timeouts.connect, total) * 1000)))
        curl.setopt(pycurl.TIMEOUT_MS, max(1, int(total * 1000)))
        curl.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in ex.request_headers])
        curl.setopt(pycurl.HEADERFUNCTION, on_header)
        curl.setopt(pycurl.WRITEFUNCTION, on_body)
        ex.started_at = time.time()
        try:
            curl.perform()
        except pycurl.error as exc:
            if not ex.body_truncated:
                ex.error = f"no HTTP/3 answer: {exc.args[1] if len(exc.args) > 1 else exc}"
                ex.error_phase = "connect" if curl.getinfo(pycurl.RESPONSE_CODE) == 0 else "body"
        code = curl.getinfo(pycurl.RESPONSE_CODE)
        ex.elapsed_s, ex.ttfb_s = curl.getinfo(pycurl.TOTAL_TIME), curl.getinfo(pycurl.STARTTRANSFER_TIME)
        ex.address = curl.getinfo(pycurl.PRIMARY_IP) or None
        if code and ex.error is None:
            ex.status, ex.headers, ex.body, ex.body_size = code, headers, bytes(body), len(body)
            ex.http_version = "3"
    finally:
        curl.close()
    return ex


def curl_line(ex: Exchange) -> str:
    """The curl command that repeats the HTTP/3 request (curl built with HTTP/3)."""
    return ex.curl().replace("curl -sS -i ", "curl -sS -i --http3-only ", 1)
