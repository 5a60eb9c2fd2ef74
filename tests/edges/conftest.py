"""Fixtures for the multi-edge tests: a fleet of lab edges behind the lab's Knot DNS server, and targets for it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edgeverify.lab.fleet import REGIONS, Fleet
from edgeverify.target import Target, load_target

ROOT = Path(__file__).resolve().parents[2]
LAB_TARGET = ROOT / "targets" / "local-lab.yaml"


@pytest.fixture
def fleet(lab: Any) -> Iterator[Callable[..., Fleet]]:
    """fleet(count=5, lag={index: seconds}, faults={index: [fault]}) -> a started Fleet, stopped after the test."""
    started: list[Fleet] = []

    def start(count: int = 5, lag: dict[int, float] | None = None, faults: dict[int, list[str]] | None = None,
              **kwargs: Any) -> Fleet:
        f = Fleet(lab, count, lag, faults)
        f.start(**kwargs)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


def fleet_yaml(f: Fleet, mode: str = "regions", interval: float = 0.5, extra: str = "") -> str:
    """The lab target plus an edges section naming the fleet's regions and its name server."""
    text = LAB_TARGET.read_text().replace("  interval: 1\n", f"  interval: {interval}\n")
    regions = ", ".join(REGIONS[: len(f.edges)])
    return text + (f"\nedges:\n  mode: {mode}\n  regions: [{regions}]\n  nameservers: ['{f.dns.nameserver}']\n"
                   f"  dns_timeout: 1\n{extra}")


@pytest.fixture
def fleet_target_yaml() -> Callable[..., str]:
    """fleet_target_yaml(fleet, mode="regions", interval=0.5, extra="") -> target YAML text."""
    return fleet_yaml


@pytest.fixture
def fleet_target(tmp_path: Path) -> Callable[..., Target]:
    """fleet_target(fleet, mode=..., extra=...) -> the loaded target, pointed at the fleet."""

    def make(f: Fleet, mode: str = "regions", extra: str = "") -> Target:
        path = tmp_path / "fleet.yaml"
        path.write_text(fleet_yaml(f, mode, extra=extra))
        target = load_target(path)
        target.connect_to = f.connect_to
        target.ca_bundle = str(f.lab.ca_bundle)
        return target

    return make


STUCK = math.inf
