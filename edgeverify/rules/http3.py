"""https.http3: a distribution whose HttpVersion includes HTTP/3 advertises it (Alt-Svc: h3) and serves it: a real
HTTP/3 request gets the same answer as over HTTP/2. Advisory: browsers fall back to HTTP/2 when HTTP/3 fails."""

from __future__ import annotations

import hashlib
import re

from ..exchange import Exchange
from . import Violation, rule

HTTP3 = rule(
    "https.http3",
    "With HTTP/3 enabled (HttpVersion http2and3), the edge advertises h3 in Alt-Svc and answers HTTP/3 as it answers "
    "HTTP/2",
    "CloudFront serves HTTP/3 over QUIC (UDP 443) when the distribution's HttpVersion is http2and3 and then adds "
    "Alt-Svc: h3=\":443\"; ma=86400 to its answers. A viewer whose browser took the advertisement and then gets no "
    "HTTP/3 answer (UDP blocked on the way) or another answer pays a fallback delay on every new connection. Browsers "
    "fall back to HTTP/2, so this is advisory.",
    "CloudFront Developer Guide, 'Supported HTTP versions' (http2and3); RFC 9114; RFC 7838 (Alt-Svc)",
    severity="advisory",
    threshold="only with https.http3: true; the HTTP/3 request needs libcurl with ngtcp2/nghttp3 (else: not made)",
)
H3 = re.compile(r'(?:^|,)\s*h3\s*=', re.I)
ENABLE = "set the distribution's HttpVersion to http2and3 (CloudFront then answers HTTP/3 and adds Alt-Svc)"


def check_advertised(h2: Exchange) -> None:
    """The HTTP/2 answer advertises HTTP/3."""
    alt = h2.header("alt-svc") or ""
    if not H3.search(alt):
        raise Violation(HTTP3, "Alt-Svc advertising h3 (e.g. h3=\":443\"; ma=86400)",
                        f"Alt-Svc {alt!r}" if alt else "no Alt-Svc header", h2, ENABLE + ", or set https.http3 "
                        "to false if HTTP/3 is meant to be off", diagnose=False)


def check_same_answer(h2: Exchange, h3: Exchange, reproduce: str) -> None:
    """The HTTP/3 answer came, with the status and the document of the HTTP/2 answer."""
    if h3.status is None:
        raise Violation(HTTP3, "an HTTP/3 answer (h3 is advertised)", f"{h3.error or 'no answer'}", h3,
                        "the edge advertises h3 but does not answer QUIC on UDP 443: a firewall, security group or "
                        "network path drops UDP 443, or HTTP/3 was turned off behind a cached Alt-Svc; either let "
                        "UDP 443 through or set HttpVersion to http2 (Alt-Svc then goes)", reproduce=reproduce,
                        diagnose=False)
    same_status = h3.status == h2.status
    same_body = hashlib.sha256(h3.body).digest() == hashlib.sha256(h2.body).digest()
    if not (same_status and same_body):
        raise Violation(HTTP3, f"the HTTP/2 answer over HTTP/3 too ({h2.status_line}, the same document)",
                        f"HTTP/3 {h3.status_line}" + ("" if same_body else ", another document than over HTTP/2"),
                        h3, "the edge answers HTTP/3 from another configuration or cache than HTTP/2: compare both "
                            "answers (the curl lines); a function or WAF rule matching on the protocol",
                        extra=[h2], reproduce=reproduce, diagnose=False)
