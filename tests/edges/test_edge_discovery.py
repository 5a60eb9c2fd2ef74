"""Edge discovery against the lab's real Knot DNS server, which answers by EDNS Client Subnet."""

from __future__ import annotations


import dns.edns
import dns.message
import dns.query

from edgeverify.edges import REGION_PREFIXES, discover, edge_target
from edgeverify.edges.discovery import parse_nameserver
from edgeverify.lab.dns import LabDns, SubnetAnswer
from edgeverify.lab.fleet import REGIONS


def test_regions_mode_gets_each_regions_edge_from_the_subnet_aware_server(fleet, fleet_target):
    f = fleet(5)
    found = discover(fleet_target(f))
    assert found.problems == []
    assert {e.address: e.regions for e in found.edges} == {e.address: [e.region] for e in f.edges}
    assert found.queries == 5


def test_the_server_really_answers_by_client_subnet(fleet):
    # The same question, with and without the ECS option: only the option changes the answer.
    f = fleet(5)
    answers = {}
    for region in [None, *REGIONS[:5]]:
        options = [dns.edns.ECSOption(REGION_PREFIXES[region].split("/")[0], 24)] if region else []
        query = dns.message.make_query("www.example.test", "A", use_edns=0, options=options)
        response = dns.query.udp(query, "127.0.0.1", port=f.dns.port, timeout=2)
        answers[region] = sorted(r.to_text() for rrset in response.answer for r in rrset)
    assert answers[None] == ["127.0.0.21"]
    assert [answers[r] for r in REGIONS[:5]] == [[f"127.0.0.{21 + i}"] for i in range(5)]


def test_dns_mode_takes_every_address_the_name_server_gives():
    with LabDns("www.example.test", [SubnetAnswer("3.248.0.0/24", ("127.0.0.24",))],
                ["127.0.0.21", "127.0.0.22"]) as server:
        from edgeverify.target import Edges, Target

        target = Target("www.example.test", edges=Edges(mode="dns", nameservers=[server.nameserver], dns_timeout=1))
        found = discover(target)
    assert sorted(e.address for e in found.edges) == ["127.0.0.21", "127.0.0.22"]  # no ECS: the default set
    assert all(e.regions == [] for e in found.edges)
    assert found.problems == []  # AAAA: no answer, not a problem


def test_addresses_mode_dedupes_and_caps():
    from edgeverify.target import Edges, Target

    target = Target("www.example.test", edges=Edges(mode="addresses", max_edges=2,
                                                    addresses=["127.0.0.21", "127.0.0.21", "127.0.0.22", "::1"]))
    found = discover(target)
    assert [e.address for e in found.edges] == ["127.0.0.21", "127.0.0.22"]
    assert found.dropped == ["::1"]
    assert found.queries == 0


def test_max_edges_caps_regions_mode(fleet, fleet_target):
    f = fleet(5)
    found = discover(fleet_target(f, extra="  max_edges: 3\n"))
    assert [e.address for e in found.edges] == f.addresses[:3]
    assert found.dropped == f.addresses[3:]


def test_a_failing_region_is_reported_and_the_others_still_discovered(fleet, fleet_target):
    # 192.0.2.0/24 is answered with a CNAME to a name the server is not authoritative for: no address.
    f = fleet(3, dns_extra=[SubnetAnswer("192.0.2.0/24", cname="d111111abcdef8.cloudfront.invalid")])
    target = fleet_target(f, extra="  prefixes: {broken-isp: 192.0.2.0/24}\n")
    target.edges.regions.append("broken-isp")
    found = discover(target)
    assert [e.address for e in found.edges] == f.addresses
    assert [(p.region, p.prefix) for p in found.problems] == [("broken-isp", "192.0.2.0/24")]
    assert "REFUSED" in found.problems[0].error


def test_cnames_are_followed_to_the_name_that_has_addresses(fleet, fleet_target):
    # www -> ns.example.test (A 127.0.0.1 in the zone), as www.example.com -> d111111abcdef8.cloudfront.net.
    # Knot puts the in-zone chain in one answer; a target outside the zone is asked again (the REFUSED above).
    f = fleet(1, dns_extra=[SubnetAnswer("198.51.100.0/24", cname="ns.example.test")])
    target = fleet_target(f, extra="  prefixes: {via-cname: 198.51.100.0/24}\n")
    target.edges.regions = ["via-cname"]
    found = discover(target)
    assert found.problems == []
    assert [(e.address, e.regions) for e in found.edges] == [("127.0.0.1", ["via-cname"])]
    assert found.queries == 1


def test_unreachable_name_servers_fail_each_region_within_the_bound(fleet, fleet_target):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a port nothing answers on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        f = fleet(2)
        target = fleet_target(f)
        target.edges.nameservers = [f"127.0.0.1:{dead}"]
        target.edges.dns_timeout = 0.5
        found = discover(target)
    assert found.edges == []
    assert [p.region for p in found.problems] == list(REGIONS[:2])
    # each region ended on the 0.5 s DNS bound (a "timeout"), not on an answer: nothing waits unbounded
    assert all("timeout" in p.error for p in found.problems), found.problems


def test_nameserver_specs_and_the_per_edge_target():
    from edgeverify.target import Target

    assert parse_nameserver("205.251.192.1") == ("205.251.192.1", 53)
    assert parse_nameserver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_nameserver("[::1]:5353") == ("::1", 5353)
    assert parse_nameserver("2001:db8::53") == ("2001:db8::53", 53)
    lab = Target("www.example.test", connect_to=["www.example.test:443:127.0.0.21:8443",
                                                 "www.example.test:80:127.0.0.21:8080"])
    assert edge_target(lab, "127.0.0.23").connect_to == ["www.example.test:443:127.0.0.23:8443",
                                                         "www.example.test:80:127.0.0.23:8080"]
    real = Target("www.example.com")
    assert edge_target(real, "2600:9000:2000::1").connect_to == ["www.example.com:443:[2600:9000:2000::1]:443",
                                                                 "www.example.com:80:[2600:9000:2000::1]:80"]
    assert real.connect_to == []  # the original is untouched
