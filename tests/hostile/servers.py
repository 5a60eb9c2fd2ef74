"""Small hostile servers on loopback, each misbehaving in one way a broken or overloaded edge does."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import trustme

DOMAIN = "www.example.test"
Behaviour = Callable[[socket.socket], None]


def _head(status: str = "200 OK", headers: str = "", length: int | None = None) -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\n{size}{headers}\r\n".encode()


def header_drip(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for i in range(600):
        conn.sendall(b"X-Drip-%d: y\r\n" % i)
        time.sleep(0.3)


def body_drip(conn: socket.socket) -> None:
    conn.sendall(_head(length=100_000))
    for _ in range(600):
        conn.sendall(b"x")
        time.sleep(0.3)


def endless_body(conn: socket.socket) -> None:
    conn.sendall(_head(headers="Transfer-Encoding: chunked\r\n"))
    chunk = b"%x\r\n%s\r\n" % (65536, b"<p>" * 21845 + b"p")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        conn.sendall(chunk)


_BOMB: list[bytes] = []


def gzip_bomb(conn: socket.socket) -> None:
    if not _BOMB:
        _BOMB.append(gzip.compress(b"\0" * 50_000_000, compresslevel=9))  # 50 MB of zeros in ~50 KB
    conn.sendall(_head(headers="Content-Encoding: gzip\r\n", length=len(_BOMB[0])) + _BOMB[0])


def close_mid_body(conn: socket.socket) -> None:
    conn.sendall(_head(length=10_000) + b"<html>" + b"x" * 500)


def garbage_status(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 two hundred OKAY\r\n\r\nhello")


def redirect_loop(conn: socket.socket) -> None:
    conn.sendall(_head("301 Moved Permanently", f"Location: https://{DOMAIN}/loop\r\n", 0))


def tls_hang(conn: socket.socket) -> None:  # used before the handshake: reads the hello, answers nothing
    time.sleep(60)


BEHAVIOURS: dict[str, Behaviour | None] = {
    "refused": None, "blackhole": None, "tls-hang": tls_hang, "header-drip": header_drip, "body-drip": body_drip,
    "endless-body": endless_body, "gzip-bomb": gzip_bomb, "close-mid-body": close_mid_body,
    "garbage-status": garbage_status, "redirect-loop": redirect_loop,
}


class Server:
    """One listening socket on 127.0.0.1 with a behaviour; TLS unless `plain`."""

    def __init__(self, name: str, tls: ssl.SSLContext | None) -> None:
        self.name, self.tls = name, tls
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._fillers: list[socket.socket] = []
        if name == "refused":
            self.sock.close()  # nothing listens: connections are refused
        elif name == "blackhole":
            self.sock.listen(0)  # never accepted; once its queue is full, SYNs are dropped: connect hangs
            for _ in range(8):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", self.port))
                self._fillers.append(filler)
        else:
            self.sock.listen(64)
            self.sock.settimeout(0.2)
            threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        behaviour = BEHAVIOURS[self.name]
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn, behaviour), daemon=True).start()

    def _serve(self, conn: socket.socket, behaviour: Behaviour | None) -> None:
        try:
            conn.settimeout(70)
            if self.name == "tls-hang" or behaviour is None:
                conn.recv(4096)
                time.sleep(60)
                return
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            while not self.stop.is_set():  # keep-alive: one behaviour per request
                if not conn.recv(65536):
                    return
                behaviour(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        for s in [self.sock, *self._fillers]:
            try:
                s.close()
            except OSError:
                pass


@contextmanager
def hostile(name: str, folder: Path) -> Iterator[tuple[list[str], Path]]:
    """Servers for https (TLS) and http with this behaviour: (connect_to specs, CA bundle)."""
    ca = trustme.CA()
    leaf = ca.issue_cert(DOMAIN)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(ctx)
    bundle = folder / "hostile-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    servers = [Server(name, ctx), Server(name, None)]
    try:
        yield ([f"{DOMAIN}:443:127.0.0.1:{servers[0].port}", f"{DOMAIN}:80:127.0.0.1:{servers[1].port}"], bundle)
    finally:
        for server in servers:
            server.close()
