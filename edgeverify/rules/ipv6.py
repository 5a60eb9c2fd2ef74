"""ipv6: a domain that advertises IPv6 serves it: every IPv6 edge address answers and passes the core checks."""

from __future__ import annotations

from collections.abc import Sequence

from .edges import EdgeResult
from . import Violation, rule

SERVED = rule(
    "ipv6.served",
    "When the domain advertises IPv6 (AAAA records, or ipv6.enabled), every IPv6 edge address serves it like IPv4",
    "CloudFront answers IPv6 viewers when the distribution's IsIPV6Enabled is true and Route 53 has an AAAA alias "
    "record; a large share of mobile viewers then arrive over IPv6. An AAAA record whose edge does not answer, or an "
    "AWS WAF IP set that lists only IPv4 ranges, breaks the site for them while every IPv4 check is green. Each "
    "address gets the per-edge core checks (entry document and release, an asset, HSTS, the redirect, safe API calls).",
    "CloudFront Developer Guide, 'Enable IPv6' (IsIPV6Enabled) and Route 53 alias AAAA records",
)


def check_served(results: Sequence[EdgeResult], source: str, problem: str | None = None) -> None:
    """Every IPv6 address answered and passed its core checks; `problem`: IPv6 is required and none was found."""
    expected = "every IPv6 edge address answers and passes the core checks"
    if problem:
        raise Violation(SERVED, expected, problem, None,
                        "ipv6.enabled says viewers reach the site over IPv6, but DNS gives no AAAA record: add a Route "
                        "53 alias AAAA record to the distribution (and set its IsIPV6Enabled true), or set "
                        "ipv6.enabled to false", reproduce="dig AAAA +short <domain>")
    bad = [r for r in results if r.status != "passed"]
    if not bad:
        return
    lines = [f"[{r.address}] ({source}): " + (f"does not answer over IPv6: {r.error}" if r.error else r.served())
             for r in bad]
    actual = f"{len(bad)} of {len(results)} IPv6 addresses:" + "".join(f"\n            - {line}" for line in lines)
    first = bad[0]
    cause = ("the domain advertises IPv6 but that edge does not answer over it: the distribution's IsIPV6Enabled is "
             "false behind an AAAA record, or a firewall/WAF drops IPv6; remove the AAAA record or enable IPv6 on "
             "the distribution" if first.error else
             "the edge answers over IPv6 differently: an AWS WAF IP set (or an IP-based rule) that lists only IPv4 "
             "ranges blocks or changes IPv6 viewers; add the IPv6 ranges to the IP set")
    raise Violation(SERVED, expected, actual, first.entry_exchange, cause, diagnose=first.error is None)
