"""The ipv6 suite against the lab: the lab's edge listens on ::1 too, and the lab's DNS server (Knot) gives the domain
an AAAA record. The core checks then run over IPv6 and pass; an edge that advertises IPv6 but does not serve it
fails; ipv6.enabled with no AAAA record fails; a domain without AAAA and without ipv6 settings is skipped.
(ipv6.addresses, as targets/local-lab.yaml sets it, is proven by the fault matrix: tests/lab/catches_ipv6.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgeverify.lab.dns import LabDns
from edgeverify.lab.lab import ipv6_loopback

ROOT = Path(__file__).resolve().parents[2]
SUITE = str(ROOT / "suites" / "test_ipv6.py")

pytestmark = pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")


def target(tmp_path: Path, ipv6: str) -> Path:
    text = re.sub(r"(?ms)^ipv6:\n(  .*?\n)+", "", (ROOT / "targets" / "local-lab.yaml").read_text())
    path = tmp_path / "lab-ipv6.yaml"
    path.write_text(text + ipv6)
    return path


@pytest.fixture(scope="module")
def lab_dns():
    with LabDns("www.example.test", [], ["127.0.0.1", "::1"]) as with_aaaa, \
            LabDns("www.example.test", [], ["127.0.0.1"]) as without:
        yield with_aaaa, without


def test_aaaa_records_send_the_core_checks_over_ipv6(lab, lab_dns, run_edgeverify, tmp_path):
    with_aaaa, _ = lab_dns
    path = target(tmp_path, f"ipv6:\n  enabled: true\nedges:\n  nameservers: ['{with_aaaa.nameserver}']\n")
    run = run_edgeverify(lab.edge(), SUITE, target=path)
    assert run.returncode == 0, run.output
    (check,) = run.checks
    assert check["outcome"] == "passed" and check["properties"] == [["[::1]", "passed"]]
    urls = {x["request"]["url"] for x in run.doc["exchanges"].values()}
    assert {"https://www.example.test/"} <= urls and any(u.startswith("http://") for u in urls)  # the redirect too
    assert "::1" in {e["address"] for e in run.doc["latency"]["edges"]}  # the IPv6 edge in the latency table

    broken = run_edgeverify(lab.edge(["ipv6-not-served"]), SUITE, target=path)
    assert broken.returncode == 1, broken.output
    message = broken.checks[0]["message"]
    assert "[::1] (AAAA records of www.example.test): does not answer over IPv6" in message
    assert "IsIPV6Enabled" in message and "--connect-to 'www.example.test:443:[::1]:" in message


def test_ipv6_enabled_without_an_aaaa_record_fails(lab, lab_dns, run_edgeverify, tmp_path):
    _, without = lab_dns
    path = target(tmp_path, f"ipv6:\n  enabled: true\nedges:\n  nameservers: ['{without.nameserver}']\n")
    run = run_edgeverify(lab.edge(), SUITE, target=path)
    assert run.returncode == 1, run.output
    assert "ipv6.enabled is true but www.example.test has no AAAA record" in run.checks[0]["message"]


def test_no_ipv6_settings_before_dns_points_here_is_skipped(lab, run_edgeverify, tmp_path):
    run = run_edgeverify(lab.edge(), SUITE, target=target(tmp_path, ""))
    assert run.returncode == 0, run.output
    assert run.checks[0]["outcome"] == "skipped" and "ipv6.addresses" in run.checks[0]["message"]
