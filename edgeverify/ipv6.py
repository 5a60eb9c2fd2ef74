"""Which IPv6 edge addresses to verify: the target's `ipv6.addresses`, else the domain's AAAA records (dnspython),
when IPv6 is enabled or the domain advertises it. The verification itself is the per-edge core checks
(edges/verify.py) over each address."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import NotApplicable
from .target import Target


@dataclass(slots=True)
class Plan:
    """The IPv6 addresses to verify and where they came from; `problem`: IPv6 is required and none was found."""

    addresses: list[str] = field(default_factory=list)
    source: str = ""
    problem: str | None = None


def plan(target: Target) -> Plan:
    """What the IPv6 check verifies; NotApplicable (the check is skipped, saying why) when it does not apply."""
    v6 = target.ipv6
    if v6.enabled is False:
        raise NotApplicable("ipv6.enabled is false: IPv6 is not verified")
    if v6.addresses:
        return Plan(list(dict.fromkeys(v6.addresses)), "ipv6.addresses")
    if target.connect_to and v6.enabled is None:
        raise NotApplicable("connect_to is set (DNS does not point at this edge yet), so the domain's AAAA records say "
                            "nothing about it: list its IPv6 addresses under ipv6.addresses, or set ipv6.enabled")
    addresses, error = aaaa(target)
    if addresses:
        return Plan(addresses, f"AAAA records of {target.domain}")
    if v6.enabled:
        return Plan([], f"AAAA records of {target.domain}",
                    f"ipv6.enabled is true but {target.domain} has no AAAA record ({error or 'no answer'})")
    raise NotApplicable(f"{target.domain} has no AAAA record ({error or 'none'}): it does not advertise IPv6")


def aaaa(target: Target) -> tuple[list[str], str | None]:
    """The domain's IPv6 addresses (CNAMEs followed), or [] and why (bounded by edges.dns_timeout)."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not target.edges.nameservers)
    if target.edges.nameservers:
        from .edges.discovery import parse_nameserver

        servers = [parse_nameserver(s) for s in target.edges.nameservers]
        resolver.nameservers = [host for host, _ in servers]
        resolver.port = servers[0][1]
    resolver.lifetime = target.edges.dns_timeout
    try:
        answer = resolver.resolve(target.domain, "AAAA")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as exc:
        return [], type(exc).__name__
    except dns.exception.DNSException as exc:
        return [], f"lookup failed: {exc}"
    return sorted({r.address for r in answer}), None
