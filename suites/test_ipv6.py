"""ipv6: when the domain advertises IPv6 (AAAA records, or ipv6.enabled / ipv6.addresses), the core checks run over
each IPv6 edge address (the per-edge checks of edges/verify.py, through --connect-to [address]) and must pass."""

import pytest

from edgeverify.rules import ipv6


@pytest.mark.rule("ipv6.served")
def test_every_ipv6_address_serves_the_site(edge, target):
    from edgeverify.edges.discovery import EdgeAddress
    from edgeverify.edges.verify import verify_edges
    from edgeverify.ipv6 import plan

    found = plan(target)
    if found.problem:
        ipv6.check_served([], found.source, found.problem)
    deadline, run_deadline = edge.run.deadlines
    results = verify_edges(target, [EdgeAddress(a) for a in found.addresses], deadline, edge.run.started, run_deadline)
    edge.exchanges.extend(ex for r in results for ex in r.exchanges)
    edge.data["properties"] = [(f"[{r.address}]", r.status) for r in results]
    ipv6.check_served(results, found.source)
