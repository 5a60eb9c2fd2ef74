"""A fleet of lab edges on distinct loopback addresses (127.0.0.21, .22, ...) behind a subnet-aware DNS server.

Each edge is one nginx (the lab's CloudFront imitation) listening on its own address, on ports shared by the
whole fleet (so a name server can hand out addresses only, as CloudFront's does), with its own X-Amz-Cf-Pop.
Each edge has its own release behaviour: converged (serves the new release), lagging N seconds (the old
index.html for N s after the fleet starts, then the new one) or stuck (the old one forever).
The DNS server (lab/dns.py) gives a client of region i the address of edge i.
"""
from __future__ import annotations

import atexit
import math
import os
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import nginx
from ..edges.regions import REGION_PREFIXES
from ..errors import LabError
from .dns import LabDns, SubnetAnswer
from .faults import validate
from .lab import _CERT_FAULTS, DOMAIN, START_TIMEOUT, Lab, Service, _free_port, _stop_group, _tail

FIRST_ADDRESS = 21  # 127.0.0.21
# The regions the fleet's edges serve, in order: edge i answers clients of REGIONS[i] (prefixes from the table).
REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2", "eu-central-1",
           "ap-south-1", "us-west-2")
_POP_HEADER = "add_header X-Amz-Cf-Pop LAB50-C1 always;"
_LISTEN = "listen 127.0.0.1:"


@dataclass(frozen=True)
class FleetEdge:
    index: int
    address: str
    pop: str
    region: str
    lag: float  # seconds it serves the old release after the fleet starts (inf: never converges)
    faults: frozenset[str] = frozenset()  # lab faults (edgeverify lab faults) this edge alone has


def _free_shared_port(addresses: list[str]) -> int:
    """A TCP port free on every one of the addresses."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind((addresses[0], 0))
            port = int(s.getsockname()[1])
        try:
            for address in addresses:
                with socket.socket() as s:
                    s.bind((address, port))
            return port
        except OSError:
            continue
    raise LabError(f"no port free on all of {', '.join(addresses)}")


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False


class Fleet(Service):
    """`count` edges on 127.0.0.21.. with per-edge release lag, and a Knot DNS server in front of them.

    lag: edge index -> seconds it serves the old release (math.inf: stuck on it); others are converged.
    faults: edge index -> lab faults of that edge only (a configuration one location has not caught up with).
    """

    def __init__(self, lab: Lab, count: int = 5, lag: Mapping[int, float] | None = None,
                 faults: Mapping[int, Iterable[str]] | None = None) -> None:
        if not 1 <= count <= len(REGIONS):
            raise LabError(f"a fleet has 1 to {len(REGIONS)} edges, not {count}")
        self.lab = lab
        self.edges = [FleetEdge(i, f"127.0.0.{FIRST_ADDRESS + i}", f"LAB{FIRST_ADDRESS + i}-C1", REGIONS[i],
                                (lag or {}).get(i, 0.0), validate((faults or {}).get(i, ())))
                      for i in range(count)]
        self.http_port = self.https_port = 0
        self.started_at = 0.0  # epoch seconds: the "deploy"
        self.dns: LabDns | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._origins: list[str] = []  # the origins' AWS names, mapped to a correct lab edge's origin endpoints

    @property
    def addresses(self) -> list[str]:
        return [e.address for e in self.edges]

    @property
    def connect_to(self) -> list[str]:
        """The fleet's ports, on edge 0's address: what a target's connect_to says for the lab.

        Per-edge verification keeps these ports and swaps in each edge's address.
        """
        first = self.edges[0].address
        return [f"{DOMAIN}:443:{first}:{self.https_port}", f"{DOMAIN}:80:{first}:{self.http_port}", *self._origins]

    def env(self) -> dict[str, str]:
        return {"EDGEVERIFY_CONNECT_TO": " ".join(self.connect_to), "EDGEVERIFY_CA_BUNDLE": str(self.lab.ca_bundle)}

    def region_answers(self) -> list[SubnetAnswer]:
        """Region i's client prefix (from the built-in table) -> edge i's address."""
        return [SubnetAnswer(REGION_PREFIXES[e.region], (e.address,)) for e in self.edges]

    def start(self, dns_extra: list[SubnetAnswer] | None = None) -> None:
        """Start every edge, then the DNS server (region i -> edge i; no ECS -> edge 0); the lag clock starts now."""
        if self.lab.static_port == 0:
            raise LabError("the lab is not started: use `with Lab() as lab:`")
        atexit.register(self.stop)  # also covers a Fleet never closed by its with-block
        try:
            for attempt in range(3):
                self.http_port = _free_shared_port(self.addresses)
                self.https_port = _free_shared_port(self.addresses)
                self.started_at = time.time()
                if self._start_edges() or attempt == 2:
                    break
            if len(self._procs) != len(self.edges):
                raise LabError("the fleet's nginx edges did not start; " + self._logs())
            # the origins' own endpoints (security.origin_direct): a correct edge of the lab serves them, so a fleet
            # run asks the lab's origins, never AWS
            self._origins = [spec for spec in self.lab.edge().connect_to if not spec.startswith(f"{DOMAIN}:")]
            self.dns = LabDns(DOMAIN, self.region_answers() + (dns_extra or []), [self.edges[0].address])
            self.dns.start()
        except BaseException:
            self.stop()
            raise

    def access_log(self, edge: FleetEdge) -> Path:
        """The edge's nginx access log: one line per request, with its method and path."""
        return self._root(edge) / "access.log"

    def _root(self, edge: FleetEdge) -> Path:
        return self.lab.root / "fleet" / f"{edge.address}-{os.getpid()}-{id(self)}"

    def _start_edges(self) -> bool:
        self._halt_edges()
        for edge in self.edges:
            cert, key = self.lab.certificate(edge.faults & _CERT_FAULTS)
            root = self._root(edge)
            for sub in ("tmp", "cache"):
                (root / sub).mkdir(parents=True, exist_ok=True)
            switch = math.inf if math.isinf(edge.lag) else (self.started_at + edge.lag if edge.lag > 0 else None)
            config = nginx.EdgeConfig(root=root, http_port=self.http_port, https_port=self.https_port,
                                      static_port=self.lab.static_port, cert=cert,
                                      api_port=_free_port() if "api-origin-down" in edge.faults else self.lab.api_port,
                                      key=key, faults=edge.faults, switch_at=switch, via_id=os.urandom(16).hex(),
                                      as_root=os.geteuid() == 0, origin_secret=self.lab.origin_secret)
            text = nginx.render(config)
            if text.count(_LISTEN) != 2 or text.count(_POP_HEADER) != 2:
                raise LabError("the lab's nginx template changed: the fleet cannot set its addresses and POP codes")
            text = text.replace(_LISTEN, f"listen {edge.address}:").replace(
                _POP_HEADER, f"add_header X-Amz-Cf-Pop {edge.pop} always;")
            (root / "nginx.conf").write_text(text)
            (root / "nginx.pid").unlink(missing_ok=True)
            proc = subprocess.Popen([self.lab.nginx, "-p", str(root), "-c", str(root / "nginx.conf"),
                                     "-e", str(root / "error.log")],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            self._procs.append(proc)
        deadline = time.monotonic() + START_TIMEOUT
        for edge, proc in zip(self.edges, self._procs):
            while not (_accepts(edge.address, self.https_port) and _accepts(edge.address, self.http_port)):
                if proc.poll() is not None or time.monotonic() > deadline:
                    in_use = "Address already in use" in _tail(self._root(edge) / "error.log")
                    if not in_use:
                        raise LabError(f"nginx for fleet edge {edge.address} did not start; " + self._logs())
                    self._halt_edges()
                    return False
                time.sleep(0.005)
        return True

    def _logs(self) -> str:
        return "\n".join(f"{e.address}: {_tail(self._root(e) / 'error.log', 5)}" for e in self.edges)

    def _halt_edges(self) -> None:
        for proc in self._procs:
            _stop_group(proc)
        self._procs.clear()

    def stop(self) -> None:
        """Stop the DNS server and every edge; idempotent."""
        atexit.unregister(self.stop)
        if self.dns is not None:
            self.dns.stop()
            self.dns = None
        self._halt_edges()
