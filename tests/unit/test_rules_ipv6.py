"""ipv6.served over per-edge results (no socket) and the plan of what to verify."""

import pytest

from edgeverify.errors import NotApplicable
from edgeverify.ipv6 import plan
from edgeverify.rules import Violation
from edgeverify.rules.edges import EdgeResult
from edgeverify.rules.ipv6 import check_served
from edgeverify.target import Ipv6, Target


def result(address, error=None, verdicts=None):
    return EdgeResult(address, entry=None if error else "abc123", entry_status="200 OK", error=error,
                      verdicts=verdicts or {"static.served": "passed"})


def test_every_address_passing_passes():
    check_served([result("2600:9000::1"), result("2600:9000::2")], "AAAA records of www.example.com")


def test_an_address_that_does_not_answer_fails_naming_the_setting():
    with pytest.raises(Violation) as info:
        check_served([result("2600:9000::1"), result("2600:9000::2", error="could not connect")], "AAAA records")
    text = info.value.render()
    assert "1 of 2 IPv6 addresses" in text and "[2600:9000::2] (AAAA records): does not answer over IPv6" in text
    assert "IsIPV6Enabled" in text


def test_an_address_that_answers_differently_fails_with_the_waf_cause():
    with pytest.raises(Violation) as info:
        check_served([result("::1", verdicts={"https.hsts": "failed: no Strict-Transport-Security"})], "ipv6.addresses")
    assert "https.hsts failed" in info.value.render() and "IP set" in info.value.render()


def test_required_without_aaaa_fails():
    with pytest.raises(Violation, match="no AAAA record"):
        check_served([], "AAAA records", "ipv6.enabled is true but www.example.com has no AAAA record (NoAnswer)")


def test_plan():
    assert plan(Target("www.example.com", ipv6=Ipv6(addresses=["::1", "::1"]))).addresses == ["::1"]
    with pytest.raises(NotApplicable, match="ipv6.enabled is false"):
        plan(Target("www.example.com", ipv6=Ipv6(enabled=False, addresses=["::1"])))
    with pytest.raises(NotApplicable, match="connect_to is set"):
        plan(Target("www.example.com", connect_to=["www.example.com:443:127.0.0.1:8443"]))
