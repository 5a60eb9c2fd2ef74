"""The lab edge's HTTP/3: an aioquic server on the edge's HTTPS port number over UDP, in front of its nginx.

Debian's nginx (1.22) has no QUIC, so HTTP/3 viewers reach an aioquic HTTP/3 server (same certificate, same
loopback address and port number, UDP) that relays each request to the edge's nginx over HTTPS and its answer
back, as CloudFront answers HTTP/3 with the same behaviors as HTTP/2. It runs on a thread of the lab's process.
"""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from ..errors import LabError

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"}
START_TIMEOUT = 10.0


class QuicFront:
    """HTTP/3 on udp://127.0.0.1:port relaying to https://127.0.0.1:port (the edge's nginx) as `domain`."""

    def __init__(self, port: int, cert: Path, key: Path, ca: Path, domain: str) -> None:
        self.port, self.cert, self.key, self.ca, self.domain = port, cert, key, ca, domain
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lab-quic", daemon=True)
        self._server: Any = None
        self._pool: Any = None

    def start(self) -> None:
        import urllib3

        self._pool = urllib3.HTTPSConnectionPool("127.0.0.1", self.port, server_hostname=self.domain,
                                                 assert_hostname=self.domain, ca_certs=str(self.ca), maxsize=8,
                                                 retries=False, timeout=30.0)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(START_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - said as the lab's own error
            self.stop()
            raise LabError(f"the lab's HTTP/3 front (aioquic) did not start on udp/{self.port}: {exc}") from None

    async def _serve(self) -> None:
        from aioquic.asyncio import serve
        from aioquic.h3.connection import H3_ALPN
        from aioquic.quic.configuration import QuicConfiguration

        if _H3Relay is None:
            raise LabError("aioquic is not installed (pip install aioquic)")
        config = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
        config.load_cert_chain(str(self.cert), str(self.key))
        relay = self._relay

        def protocol(*args: Any, **kwargs: Any) -> Any:
            return _H3Relay(*args, relay=relay, **kwargs)

        self._server = await serve("127.0.0.1", self.port, configuration=config, create_protocol=protocol)

    def _relay(self, headers: dict[bytes, bytes], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One request relayed to nginx, its answer as HTTP/3 wants it (lower-case names, no hop-by-hop)."""
        sent = {k.decode(): v.decode() for k, v in headers.items() if not k.startswith(b":")}
        sent["host"] = headers.get(b":authority", self.domain.encode()).decode()
        answer = self._pool.urlopen(headers.get(b":method", b"GET").decode(), headers.get(b":path", b"/").decode(),
                                    headers=sent, body=body or None, redirect=False, decode_content=False,
                                    preload_content=True)
        out = [(k.lower().encode(), v.encode()) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
        return answer.status, out, answer.data

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
            self._server = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if self._pool is not None:
            self._pool.close()


def _make_relay() -> Any:
    from aioquic.asyncio import QuicConnectionProtocol
    from aioquic.h3.connection import H3_ALPN, H3Connection
    from aioquic.h3.events import DataReceived, HeadersReceived
    from aioquic.quic.events import ProtocolNegotiated

    class H3Relay(QuicConnectionProtocol):
        def __init__(self, *args: Any, relay: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._relay = relay
            self._h3: Any = None
            self._requests: dict[int, tuple[dict[bytes, bytes], bytearray]] = {}

        def quic_event_received(self, event: Any) -> None:
            if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
                self._h3 = H3Connection(self._quic)
            if self._h3 is None:
                return
            for h3_event in self._h3.handle_event(event):
                if isinstance(h3_event, HeadersReceived):
                    self._requests[h3_event.stream_id] = (dict(h3_event.headers), bytearray())
                elif isinstance(h3_event, DataReceived) and h3_event.stream_id in self._requests:
                    self._requests[h3_event.stream_id][1].extend(h3_event.data)
                else:
                    continue
                if h3_event.stream_ended:
                    headers, body = self._requests.pop(h3_event.stream_id)
                    asyncio.ensure_future(self._answer(h3_event.stream_id, headers, bytes(body)))

        async def _answer(self, stream_id: int, headers: dict[bytes, bytes], body: bytes) -> None:
            loop = asyncio.get_running_loop()
            try:
                status, out, data = await loop.run_in_executor(None, self._relay, headers, body)
            except Exception:  # noqa: BLE001 - the edge's nginx did not answer: CloudFront's 502
                status, out, data = 502, [(b"content-type", b"text/plain")], b"origin unreachable\n"
            assert self._h3 is not None
            self._h3.send_headers(stream_id, [(b":status", str(status).encode()), *out], end_stream=not data)
            if data:
                self._h3.send_data(stream_id, data, end_stream=True)
            self.transmit()

    return H3Relay


try:
    _H3Relay: Any = _make_relay()
except ImportError:  # aioquic is not installed: QuicFront.start says so
    _H3Relay = None
