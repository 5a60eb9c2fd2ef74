"""Edge discovery: which edge addresses to verify, learned with DNS (dnspython; no hand-written packets).

Modes (the target's `edges.mode`):
- nearest: only the edge this machine's resolver gives (what every other suite tests); nothing to discover.
- dns: every A and AAAA record the resolver (or `edges.nameservers`) returns for the domain.
- regions: for each region, ask the authoritative name servers with EDNS Client Subnet (RFC 7871) set to a
  representative client prefix of that region (edges/regions.py, or `edges.prefixes`); CNAMEs are followed
  to the zone that answers with addresses (e.g. www.example.com -> d111111abcdef8.cloudfront.net).
- addresses: the target's explicit list.

A region whose query fails (timeout, error code, no address) is reported in `Discovery.problems`, never raised.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from ..target import Target
from .regions import REGION_PREFIXES

MAX_CNAME_HOPS = 8
MAX_NAMESERVERS = 4  # authoritative servers tried per zone, in order, until one answers


@dataclass(slots=True)
class EdgeAddress:
    """One edge to verify: its address and the regions whose clients DNS sends there."""

    address: str
    regions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Problem:
    """A region (or lookup) that gave no edge, and why."""

    region: str | None
    prefix: str | None
    error: str


@dataclass(slots=True)
class Discovery:
    mode: str
    edges: list[EdgeAddress] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # addresses beyond edges.max_edges, not verified
    queries: int = 0  # DNS queries sent
    elapsed_s: float = 0.0


Server = tuple[str, int]


def parse_nameserver(spec: str) -> Server:
    """'192.0.2.53', '192.0.2.53:5353', '[2001:db8::53]:53' or '2001:db8::53' -> (address, port)."""
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]")
        return host, int(port.lstrip(":") or 53)
    if spec.count(":") == 1:
        host, port = spec.split(":")
        return host, int(port)
    return spec, 53


def discover(target: Target, deadline: float | None = None) -> Discovery:
    """The edges the target's `edges` section names, capped at edges.max_edges; never raises for DNS failures."""
    cfg = target.edges
    started = time.monotonic()
    found = Discovery(cfg.mode)
    if cfg.mode == "addresses":
        for address in cfg.addresses:
            _add(found, address, None)
    elif cfg.mode == "dns":
        _discover_dns(target, found)
    elif cfg.mode == "regions":
        _discover_regions(target, found, deadline)
    if len(found.edges) > cfg.max_edges:
        found.dropped = [e.address for e in found.edges[cfg.max_edges:]]
        del found.edges[cfg.max_edges:]
    found.elapsed_s = time.monotonic() - started
    return found


def _add(found: Discovery, address: str, region: str | None) -> None:
    for edge in found.edges:
        if edge.address == address:
            if region and region not in edge.regions:
                edge.regions.append(region)
            return
    found.edges.append(EdgeAddress(address, [region] if region else []))


def _resolver(target: Target) -> dns.resolver.Resolver:
    cfg = target.edges
    resolver = dns.resolver.Resolver(configure=not cfg.nameservers)
    if cfg.nameservers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(*parse_nameserver(s)) for s in cfg.nameservers]
    resolver.lifetime = cfg.dns_timeout
    resolver.timeout = cfg.dns_timeout
    return resolver


def _discover_dns(target: Target, found: Discovery) -> None:
    resolver = _resolver(target)
    for rdtype in ("A", "AAAA"):
        found.queries += 1
        try:
            answer = resolver.resolve(target.domain, rdtype, search=False)
        except dns.resolver.NoAnswer:
            continue
        except dns.exception.DNSException as exc:
            found.problems.append(Problem(None, None, f"{rdtype} {target.domain}: {_words(exc)}"))
            continue
        for rdata in answer:
            _add(found, rdata.to_text(), None)
    if not found.edges and not found.problems:
        found.problems.append(Problem(None, None, f"{target.domain} has no A or AAAA record"))


@dataclass(slots=True)
class _Asker:
    """ECS queries for one discovery: configured servers, or each zone's authoritative servers (cached)."""

    target: Target
    deadline: float | None
    queries: int = 0
    zones: dict[str, list[Server]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    zone_lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, n: int = 1) -> None:
        with self.lock:
            self.queries += n

    def servers_for(self, name: dns.name.Name) -> list[Server]:
        cfg = self.target.edges
        if cfg.nameservers:
            return [parse_nameserver(s) for s in cfg.nameservers]
        with self.zone_lock:  # regions are asked in parallel; each name's servers are looked up once
            if name.to_text() not in self.zones:
                self.zones[name.to_text()] = self._authoritative(name)
            return self.zones[name.to_text()]

    def _authoritative(self, name: dns.name.Name) -> list[Server]:
        cfg = self.target.edges
        resolver = _resolver(self.target)
        zone = dns.resolver.zone_for_name(name, resolver=resolver, lifetime=cfg.dns_timeout)
        key = zone.to_text()
        if key not in self.zones:
            self.count()
            hosts = sorted(r.target.to_text() for r in resolver.resolve(zone, "NS", search=False))
            servers: list[Server] = []
            for host in hosts[:MAX_NAMESERVERS]:
                self.count()
                try:
                    servers += [(r.to_text(), 53) for r in resolver.resolve(host, "A", search=False)][:1]
                except dns.exception.DNSException:
                    continue
            self.zones[key] = servers
        return self.zones[key]

    def ask(self, name: dns.name.Name, prefix: str, servers: list[Server]) -> dns.message.Message:
        network = ipaddress.ip_network(prefix, strict=False)
        query = dns.message.make_query(name, "A", use_edns=0, payload=1232,
                                       options=[dns.edns.ECSOption(str(network.network_address), network.prefixlen)])
        query.flags &= ~dns.flags.RD  # an authoritative question
        last: Exception | None = None
        for host, port in servers:
            timeout = self.target.edges.dns_timeout
            if self.deadline is not None:
                timeout = min(timeout, max(0.05, self.deadline - time.monotonic()))
            self.count()
            try:
                response, _ = dns.query.udp_with_fallback(query, host, timeout=timeout, port=port)
            except (dns.exception.DNSException, OSError) as exc:
                last = exc
                continue
            if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return response
            last = RuntimeError(f"{dns.rcode.to_text(response.rcode())} from {host}:{port}")
        raise last or RuntimeError("no name server to ask")

    def addresses(self, domain: str, prefix: str) -> list[str]:
        """The A records the authoritative servers give a client in `prefix`, following CNAMEs."""
        name = dns.name.from_text(domain)
        for _ in range(MAX_CNAME_HOPS):
            response = self.ask(name, prefix, self.servers_for(name))
            if response.rcode() == dns.rcode.NXDOMAIN:
                raise RuntimeError(f"NXDOMAIN for {name.to_text(omit_final_dot=True)}")
            for _ in range(MAX_CNAME_HOPS):  # walk the chain the answer itself carries
                cname = response.get_rrset(response.answer, name, dns.rdataclass.IN, dns.rdatatype.CNAME)
                if cname is None:
                    break
                name = cname[0].target
            a = response.get_rrset(response.answer, name, dns.rdataclass.IN, dns.rdatatype.A)
            if a is not None:
                return [r.to_text() for r in a]
            if name == response.question[0].name:
                raise RuntimeError(f"no A record for {name.to_text(omit_final_dot=True)} in the answer")
        raise RuntimeError(f"more than {MAX_CNAME_HOPS} CNAMEs from {domain}")


def _discover_regions(target: Target, found: Discovery, deadline: float | None) -> None:
    cfg = target.edges
    table = {**REGION_PREFIXES, **cfg.prefixes}
    regions = list(cfg.regions) or list(table)
    asker = _Asker(target, deadline)

    def one(region: str) -> tuple[str, list[str] | None, str | None]:
        try:
            return region, asker.addresses(target.domain, table[region]), None
        except (dns.exception.DNSException, OSError, RuntimeError) as exc:
            return region, None, _words(exc)

    with ThreadPoolExecutor(max_workers=max(1, min(cfg.concurrency, len(regions)))) as pool:
        results = list(pool.map(one, regions))
    for region, addresses, error in results:
        if addresses is None:
            found.problems.append(Problem(region, table[region], error or "no answer"))
            continue
        for address in addresses:
            _add(found, address, region)
    found.queries += asker.queries


def _words(exc: BaseException) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return "no answer in time (timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    return str(exc) or type(exc).__name__
