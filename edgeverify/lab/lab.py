"""Process management: the lab (temp dir, CA, origins) and its edges (one nginx each)."""
from __future__ import annotations

import atexit
import datetime
import json
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import trustme

from . import nginx, site
from ..errors import LabError
from .faults import validate
from .origins import API_HOST, S3_HOST, SECRET_ENV, WEBSITE_HOST

DOMAIN = "www.example.test"
START_TIMEOUT = 10.0
_CERT_FAULTS = frozenset({"cert-wrong-name", "cert-expiring", "cert-untrusted", "cert-no-intermediate"})


def find_program(name: str, env: str, packages: str) -> str:
    """A server the lab runs: $ENV, then PATH, then /usr/sbin/NAME; LabError saying how to install it."""
    path = os.environ.get(env) or shutil.which(name) or f"/usr/sbin/{name}"
    if not os.access(path, os.X_OK):
        raise LabError(f"{name} not found (looked for {path!r}): install it (Debian: apt-get install {packages}) "
                       f"or set {env} to its path")
    return path


def find_nginx() -> str:
    """The nginx binary: $EDGEVERIFY_NGINX, then PATH, then /usr/sbin/nginx."""
    return find_program("nginx", "EDGEVERIFY_NGINX", "nginx-light")


_S = TypeVar("_S", bound="Service")


class Service:
    """A lab part started and stopped with `with`: subclasses give start() and stop()."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def ipv6_loopback() -> bool:
    """Whether this machine has an IPv6 loopback (::1) to listen on."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def http3_available() -> bool:
    """Whether the lab can serve HTTP/3 (aioquic, from PyPI, is installed): its edges then advertise it."""
    import importlib.util

    return importlib.util.find_spec("aioquic") is not None


def _free_port() -> int:
    # Bind to port 0 and release it: a tiny race, covered by retrying nginx on "address in use".
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_ports(n: int, udp_too: bool = False) -> list[int]:
    """n distinct free ports, held open together while chosen: the kernel may hand a just-released port out again,
    and an edge whose http and https servers got the same port fails to start ('no ssl_certificate ...').
    With udp_too, the last port is also free over UDP (the edge's HTTP/3 front uses the HTTPS port number)."""
    held: list[socket.socket] = []  # every socket bound while choosing, closed only at the end
    chosen: list[int] = []
    try:
        for _ in range(n + 20):
            s, port = _bind_any()
            held.append(s)
            if udp_too and len(chosen) == n - 1 and not _udp_free(port):
                continue  # taken over UDP (another edge's HTTP/3, a DNS server): keep it held, pick again
            chosen.append(port)
            if len(chosen) == n:
                return chosen
        raise LabError(f"no {n} free loopback ports found")
    finally:
        for s in held:
            s.close()


def _bind_any() -> tuple[socket.socket, int]:
    """A TCP socket bound to a loopback port the kernel chose, and that port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, int(s.getsockname()[1])


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        try:
            u.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _stop_group(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Terminate a process started with start_new_session, and everything in its group."""
    if proc.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                continue
    else:
        try:  # the leader is gone; make sure no worker of its group survives
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Edge:
    """One running nginx: a CloudFront distribution with a given set of faults."""

    def __init__(self, lab: Lab, root: Path, faults: frozenset[str], old_release_for: float | None) -> None:
        self.lab, self.root, self.faults, self.old_release_for = lab, root, faults, old_release_for
        self.http_port = self.https_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._quic: Any = None  # the HTTP/3 front (aioquic), when the lab can serve HTTP/3

    @property
    def connect_to(self) -> list[str]:
        """curl --connect-to entries sending www.example.test:443/:80 to this edge, then the origins' AWS names
        (their public endpoints, served on the edge's ports: see nginx._origin_fronts)."""
        return [f"{DOMAIN}:443:127.0.0.1:{self.https_port}", f"{DOMAIN}:80:127.0.0.1:{self.http_port}",
                f"{S3_HOST}:443:127.0.0.1:{self.https_port}", f"{API_HOST}:443:127.0.0.1:{self.https_port}",
                f"{WEBSITE_HOST}:80:127.0.0.1:{self.http_port}"]

    @property
    def ca_bundle(self) -> str:
        """PEM of the lab CA, which verifies the edge's certificate (unless a cert fault says otherwise)."""
        return str(self.lab.ca_bundle)

    @property
    def error_log(self) -> Path:
        return self.root / "error.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def env(self) -> dict[str, str]:
        """Environment variables pointing edgeverify at this edge."""
        return {"EDGEVERIFY_CONNECT_TO": " ".join(self.connect_to), "EDGEVERIFY_CA_BUNDLE": self.ca_bundle,
                # the previous release's index.html, as a deploy pipeline saves it before deploying
                "EDGEVERIFY_PREVIOUS_ENTRY": str(self.lab.root / "site" / "index" / "old.html")}

    def start(self) -> None:
        for subdir in ("tmp", "cache"):
            (self.root / subdir).mkdir(parents=True, exist_ok=True)
        cert, key = self.lab.certificate(self.faults & _CERT_FAULTS)
        switch_at = None if self.old_release_for is None else time.time() + self.old_release_for
        self.switch_at = switch_at  # epoch seconds when the new release starts being served
        h3 = http3_available() and "h3-not-served" not in self.faults
        for attempt in range(3):
            self.http_port, self.https_port = _free_ports(2, udp_too=h3)
            config = nginx.EdgeConfig(
                root=self.root, http_port=self.http_port, https_port=self.https_port,
                static_port=self.lab.static_port,
                api_port=_free_port() if "api-origin-down" in self.faults else self.lab.api_port,
                cert=cert, key=key, faults=self.faults, switch_at=switch_at,
                via_id=os.urandom(16).hex(), as_root=os.geteuid() == 0,
                ipv6="ipv6-not-served" not in self.faults and ipv6_loopback(),
                alt_svc=http3_available() or "h3-not-served" in self.faults,
                origin_secret=self.lab.origin_secret, origin_cert=self.lab.origin_certificate())
            (self.root / "nginx.conf").write_text(nginx.render(config))
            (self.root / "nginx.pid").unlink(missing_ok=True)
            self._proc = subprocess.Popen(
                [self.lab.nginx, "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
                 "-e", str(self.error_log)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            if self._wait_ready():
                if not h3:
                    return
                from .quic import QuicFront

                self._quic = QuicFront(self.https_port, cert, key, self.lab.ca_bundle, DOMAIN)
                try:
                    self._quic.start()
                    return
                except LabError as exc:
                    self.stop()
                    if "Address already in use" not in str(exc) or attempt == 2:
                        raise
                    continue  # the UDP port was taken between choosing and binding: choose again
            self.stop()
            if "Address already in use" not in _tail(self.error_log) or attempt == 2:
                break
        raise LabError(f"nginx for faults {sorted(self.faults) or 'none'} did not start in {START_TIMEOUT:.0f} s; "
                       f"{self.error_log}:\n{_tail(self.error_log)}")

    def _wait_ready(self) -> bool:
        # The master writes its pid file only after binding both ports, so a connect then reaches it.
        assert self._proc is not None
        pid_file, deadline = self.root / "nginx.pid", time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self._proc.poll() is None:
            if pid_file.exists() and pid_file.read_text().strip() == str(self._proc.pid):
                return _accepts(self.https_port) and _accepts(self.http_port)
            time.sleep(0.005)
        return False

    def stop(self) -> None:
        if self._quic is not None:
            self._quic.stop()
            self._quic = None
        if self._proc is not None:
            _stop_group(self._proc)
            self._proc = None


class Lab(Service):
    """A local CloudFront look-alike: test CA, origins process, and any number of edges."""

    def __init__(self) -> None:
        self.nginx = ""
        self.root = Path()
        self.release: dict[str, str] = {}
        self.static_port = self.api_port = 0
        self._origins: subprocess.Popen[bytes] | None = None
        self._edges: list[Edge] = []
        self._cache: dict[tuple[frozenset[str], float | None], Edge] = {}
        self._certs: dict[frozenset[str], tuple[Path, Path]] = {}
        self._ca = trustme.CA(organization_name="edgeverify lab CA")
        self.origin_secret = os.urandom(16).hex()  # the edge's OriginCustomHeaders value the origins check
        self._origin_cert: tuple[Path, Path] | None = None

    @property
    def ca_bundle(self) -> Path:
        return self.root / "ca.pem"

    def start(self) -> None:
        """Build the site and start the origins; safe to call once."""
        self.nginx = find_nginx()
        self.root = Path(tempfile.mkdtemp(prefix="edgeverify-lab-"))
        atexit.register(self.stop)  # also covers a Lab never closed by its with-block
        try:
            self.release = site.build(self.root / "site")
            self._ca.cert_pem.write_to_path(str(self.ca_bundle))
            self._start_origins()
        except BaseException:
            self.stop()
            raise

    def _start_origins(self) -> None:
        package_parent = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])),
               SECRET_ENV: self.origin_secret}
        log = self.root / "origins.log"
        with log.open("wb") as stderr:
            # stdin stays open as a lifeline: the origins exit when it closes, even if we are killed.
            self._origins = subprocess.Popen(
                [sys.executable, "-m", "edgeverify.lab.origins", "--root", str(self.root / "site")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, start_new_session=True)
        assert self._origins.stdout is not None
        ready, _, _ = select.select([self._origins.stdout], [], [], START_TIMEOUT)
        line = self._origins.stdout.readline() if ready else b""
        try:
            ports = json.loads(line)
            self.static_port, self.api_port = int(ports["static"]), int(ports["api"])
        except (ValueError, KeyError, TypeError):
            raise LabError(f"origins did not start; {log}:\n{_tail(log)}") from None

    def certificate(self, cert_faults: frozenset[str]) -> tuple[Path, Path]:
        """(chain, key) files for the edge certificate, shaped by the given cert-* faults."""
        if cert_faults not in self._certs:
            # As public CAs (and ACM) do, a root signs an intermediate that issues the leaf; the edge sends both.
            root = trustme.CA(organization_name="edgeverify untrusted CA") if "cert-untrusted" in cert_faults else self._ca
            ca = root.create_child_ca()
            # The good certificate also covers *.example.test, so tests can run several targets (domains) at once.
            names = ["other.example.test"] if "cert-wrong-name" in cert_faults else [DOMAIN, "*.example.test"]
            not_after = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)
                         if "cert-expiring" in cert_faults else None)
            leaf = ca.issue_cert(*names, not_after=not_after)
            stem = self.root / "certs" / ("-".join(sorted(cert_faults)) or "good")
            stem.parent.mkdir(exist_ok=True)
            chain, key = stem.with_suffix(".crt"), stem.with_suffix(".key")
            sent = leaf.cert_chain_pems[:1] if "cert-no-intermediate" in cert_faults else leaf.cert_chain_pems
            chain.write_bytes(b"".join(blob.bytes() for blob in sent))
            leaf.private_key_pem.write_to_path(str(key))
            self._certs[cert_faults] = (chain, key)
        return self._certs[cert_faults]

    def origin_certificate(self) -> tuple[Path, Path]:
        """(chain, key) for the origins' AWS names (any bucket's and API's in the region), issued by the lab CA."""
        if self._origin_cert is None:
            leaf = self._ca.create_child_ca().issue_cert(*("*." + h.split(".", 1)[1] for h in (S3_HOST, API_HOST)))
            chain, key = self.root / "certs" / "origins.crt", self.root / "certs" / "origins.key"
            chain.parent.mkdir(exist_ok=True)
            chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
            leaf.private_key_pem.write_to_path(str(key))
            self._origin_cert = (chain, key)
        return self._origin_cert

    def edge(self, faults: Iterable[str] = (), old_release_for: float | None = None) -> Edge:
        """A running edge with these faults; edges without a timed release switch are shared."""
        if self._origins is None:
            raise LabError("the lab is not started: use `with Lab() as lab:`")
        chosen = validate(faults)
        key = (chosen, old_release_for)
        cacheable = old_release_for is None or math.isinf(old_release_for)
        if cacheable and key in self._cache and self._cache[key].running:
            return self._cache[key]
        edge = Edge(self, self.root / "edges" / str(len(self._edges)), chosen, old_release_for)
        self._edges.append(edge)
        edge.start()
        if cacheable:
            self._cache[key] = edge
        return edge

    def stop(self) -> None:
        """Stop every edge and the origins and delete the temp dir; idempotent."""
        atexit.unregister(self.stop)
        for edge in self._edges:
            edge.stop()
        self._edges.clear()
        self._cache.clear()
        if self._origins is not None:
            proc, self._origins = self._origins, None
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
            _stop_group(proc)
            if proc.stdout:
                proc.stdout.close()
        if self.root != Path() and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
