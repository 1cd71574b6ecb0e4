"""Loopback addresses for twin instances: 127.0.100.1 upwards, one per live instance.

An address is taken by binding the instance's IMDS port on it, so two twins on one machine
(two test runs, say) never hand out the same address; one whose runner port (9252) is still
held by someone is skipped. Addresses are handed out in turn, not lowest first, so a new
instance does not reuse the address of one that just terminated.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

FIRST = ipaddress.IPv4Address("127.0.100.1")
LAST = ipaddress.IPv4Address("127.0.255.254")
RUNNER_PORT = 9252

T = TypeVar("T")


def port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def usable(address: ipaddress.IPv4Address) -> bool:
    return address.packed[3] not in (0, 255)


class AddressPool:
    def __init__(
        self,
        first: ipaddress.IPv4Address = FIRST,
        last: ipaddress.IPv4Address = LAST,
        probe_port: int = RUNNER_PORT,
    ) -> None:
        self.first, self.last = first, last
        self.probe_port = probe_port
        self._next = first
        self._taken: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, bind: Callable[[str], T]) -> tuple[str, T]:
        """The next free address and what ``bind(address)`` returned for it."""
        with self._lock:
            for _ in range(int(self.last) - int(self.first) + 1):
                candidate = self._advance()
                if str(candidate) in self._taken or not usable(candidate):
                    continue
                if not port_free(str(candidate), self.probe_port):
                    continue
                try:
                    bound = bind(str(candidate))
                except OSError:
                    continue
                self._taken.add(str(candidate))
                return str(candidate), bound
        raise OSError(f"no free loopback address between {self.first} and {self.last}")

    def release(self, address: str) -> None:
        with self._lock:
            self._taken.discard(address)

    def _advance(self) -> ipaddress.IPv4Address:
        current = self._next
        self._next = current + 1 if current < self.last else self.first
        return current
