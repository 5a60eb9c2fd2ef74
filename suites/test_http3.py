"""https.http3 (advisory): with https.http3 true (HttpVersion http2and3), the entry document advertises h3 in Alt-Svc
and a real HTTP/3 request (libcurl with ngtcp2/nghttp3) gets the same answer as over HTTP/2."""

import pytest

from edgeverify.engine import entry_path
from edgeverify.errors import NotApplicable
from edgeverify.rules import http3


@pytest.mark.rule("https.http3")
def test_http3_is_advertised_and_answers_as_http2(edge, target):
    from edgeverify import http3 as client

    if not target.https.http3:
        pytest.skip("https.http3 is false: the distribution's HttpVersion is not http2and3")
    h2 = edge.fetch(entry_path(target), whole=True)
    http3.check_advertised(h2)
    reason = client.unavailable()
    if reason is not None:
        raise NotApplicable(f"Alt-Svc advertises h3; {reason}")
    h3 = client.request(target, entry_path(target), edge.run.deadlines[1])
    edge.exchanges.append(h3)
    edge.data["properties"] = [("http3", h3.status_line), ("http3 ms", f"{h3.elapsed_s * 1000:.1f}")]
    http3.check_same_answer(h2, h3, client.curl_line(h3))
