"""A loopback HTTPS edge serving a fixed set of objects as CloudFront serves S3 ones: S3's ETag (the MD5 of a
single-part upload), Content-Length, 404 for a key it does not hold; keep-alive like CloudFront.

One nginx process of its own (the lab's nginx binary, not the lab's configuration): the parity benchmark and
tests that need thousands of objects use it. `connect_to` and `ca_bundle` point a Target at it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import trustme

from edgeverify.lab import DOMAIN
from edgeverify.lab.lab import _stop_group, find_nginx
from edgeverify.lab.nginx import preamble

START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ObjectEdge:
    """`files`: key -> bytes the edge serves at /<key>; `etags`: key -> ETag to send instead of the MD5 (stale)."""

    def __init__(self, root: Path, files: dict[str, bytes], etags: dict[str, str] | None = None) -> None:
        self.root, self.files, self.etags = root, files, etags or {}
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def connect_to(self) -> list[str]:
        return [f"{DOMAIN}:443:127.0.0.1:{self.port}"]

    @property
    def ca_bundle(self) -> str:
        return str(self.root / "ca.pem")

    @property
    def access_log(self) -> Path:
        return self.root / "access.log"

    def __enter__(self) -> ObjectEdge:
        objects = self.root / "objects"
        for sub in ("tmp", "objects"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        lines = []
        for key, body in self.files.items():
            path = objects / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            etag = self.etags.get(key) or hashlib.md5(body).hexdigest()
            lines.append(f"/{key} '\"{etag}\"';")
        (self.root / "etags.map").write_text("\n".join(lines) + "\n")
        ca = trustme.CA()
        ca.cert_pem.write_to_path(self.ca_bundle)
        ca.issue_cert(DOMAIN).private_key_and_cert_chain_pem.write_to_path(str(self.root / "edge.pem"))
        for _ in range(3):
            self.port = _free_port()
            (self.root / "nginx.conf").write_text(self._config())
            self._proc = subprocess.Popen([find_nginx(), "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
                                           "-e", str(self.root / "error.log")],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
            if self._ready():
                return self
            self.stop()
        raise RuntimeError(f"nginx did not start: {(self.root / 'error.log').read_text()[-2000:]}")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        if self._proc is not None:
            _stop_group(self._proc)
            self._proc = None

    def _ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self._proc is not None and self._proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def _config(self) -> str:
        d = self.root
        return f"""{preamble(d, os.geteuid() == 0)}
    log_format edge '$remote_addr conn=$connection n=$connection_requests "$request" $status';
    access_log {d}/access.log edge;
    default_type binary/octet-stream;
    map_hash_max_size 262144;
    map_hash_bucket_size 128;
    map $uri $s3_etag {{
        default "";
        include {d}/etags.map;
    }}
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name _;
        ssl_certificate {d}/edge.pem;
        ssl_certificate_key {d}/edge.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_requests 100000;
        keepalive_timeout 60s;
        server_tokens off;
        root {d}/objects;
        etag off;
        location / {{
            add_header ETag $s3_etag;
            add_header X-Cache "Hit from cloudfront";
            add_header Via "1.1 parity.cloudfront.net (CloudFront)";
        }}
    }}
}}
"""
