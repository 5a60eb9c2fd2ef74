"""The target's edges section: defaults, and one clear error (file, line, key, did-you-mean) per mistake."""

from __future__ import annotations

import pytest

from edgeverify.errors import TargetError
from edgeverify.target import load_target


def load(tmp_path, body: str):
    path = tmp_path / "t.yaml"
    path.write_text("domain: www.example.test\nedges:\n" + body)
    return load_target(path)


def test_defaults_and_a_full_section(tmp_path):
    assert load(tmp_path, "  mode: nearest\n").edges.max_edges == 20
    edges = load(tmp_path, "  mode: regions\n  regions: [eu-west-1, my-isp]\n  prefixes: {my-isp: 198.51.100.0/24}\n"
                           "  nameservers: ['127.0.0.1:5353', 205.251.192.1]\n  max_edges: 5\n  concurrency: 2\n").edges
    assert (edges.mode, edges.regions, edges.prefixes, edges.max_edges) == (
        "regions", ["eu-west-1", "my-isp"], {"my-isp": "198.51.100.0/24"}, 5)


@pytest.mark.parametrize("body, line, key, words", [
    ("  mode: region\n", 3, "edges.mode", "Did you mean 'regions'?"),
    ("  mode: regions\n  regions: [eu-west-1, eu-wset-1]\n", 4, "edges.regions[1]", "Did you mean 'eu-west-1'?"),
    ("  mode: regions\n  regions: [mars-1]\n", 4, "edges.regions[0]", "Add its client prefix under edges.prefixes"),
    ("  mode: addresses\n  addresses: [127.0.0.21, edge.example]\n", 4, "edges.addresses[1]", "not an IP address"),
    ("  mode: addresses\n", 3, "edges.addresses", "needs at least one address"),
    ("  prefixes: {x: 300.1.2.0/24}\n", 3, "edges.prefixes", "not a network prefix"),
    ("  nameservers: ['127.0.0.1:99999']\n", 3, "edges.nameservers[0]", "ADDRESS:PORT"),
    ("  max_edges: 0\n", 3, "edges.max_edges", "1 to 100"),
    ("  concurrency: 500\n", 3, "edges.concurrency", "1 to 64"),
    ("  max_edge: 3\n", 3, "edges.max_edge", "Did you mean 'max_edges'?"),
])
def test_each_mistake_names_file_line_and_key(tmp_path, body, line, key, words):
    with pytest.raises(TargetError) as caught:
        load(tmp_path, body)
    message = str(caught.value)
    assert f"t.yaml, line {line}, key '{key}'" in message, message
    assert words in message, message
