"""In-process instances and twin instances take loopback addresses from separate blocks.

Two test workers once ran an in-process agent and a twin instance on the same address: the
twin's test scraped the other agent's runner port and saw its jobs.
"""

from __future__ import annotations

import ipaddress

import pytest

from runnerfleet.sandbox.instances import demo_address
from runnerfleet.sandbox.twin.addresses import FIRST


def test_in_process_addresses_stay_below_the_twin_block() -> None:
    addresses = [ipaddress.IPv4Address(demo_address(n)) for n in range(1, 20_001)]
    assert len(set(addresses)) == len(addresses)
    assert all(a.is_loopback and a < FIRST for a in addresses)
    assert all(
        a.packed[3] not in (0, 255) and a != ipaddress.IPv4Address("127.0.0.1") for a in addresses
    )


def test_the_block_says_when_it_is_used_up() -> None:
    with pytest.raises(OSError, match="no loopback address left"):
        demo_address(20_001)
