"""A process-wide guard: connections outside 127.0.0.0/8 fail before they leave the machine.

The twin's own processes (the runner agent on an instance, the Lambda worker) install it
first thing, so a GitLab URL or an AWS endpoint that was not rewritten for the sandbox fails
with a clear message instead of reaching the internet. Standard library only: the Lambda
worker loads this file by path, outside the function's import path.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

MESSAGE = "the sandbox twin connects only to 127.0.0.0/8, not {host}"


class NonLoopbackRefused(ConnectionRefusedError):
    """A connection to an address outside loopback was refused by the guard."""


def check_host(host: str) -> None:
    """Raise NonLoopbackRefused unless ``host`` is ``localhost`` or a loopback address."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NonLoopbackRefused(MESSAGE.format(host=host))


def _check_address(address: Any) -> None:
    if isinstance(address, tuple):  # AF_UNIX paths are local by definition
        check_host(str(address[0]))


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _connect(self: socket.socket, address: Any) -> None:
    _check_address(address)
    _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None:
        check_host(host.decode() if isinstance(host, bytes) else str(host))
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    """Guard every later connection of this process."""
    socket.socket.connect = _connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _getaddrinfo
