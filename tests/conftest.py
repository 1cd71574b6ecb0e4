"""Suite-wide fixtures. The network guard is not optional: nothing here may leave 127.0.0.0/8."""

from __future__ import annotations

import _socket
import ipaddress
import json
import os
import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # reference material next to the checkout; absent in a fresh clone
EXAMPLES = REPO / "examples"
FIXTURES = REPO / "tests" / "fixtures"


def needs_shared(path: Path) -> pytest.MarkDecorator:
    """Skip, saying why, when shared reference data is not next to the checkout.

    Every behaviour such a test covers is also covered with the project's own fixtures."""
    return pytest.mark.skipif(not path.exists(), reason=f"shared data not present: {path}")


class NonLoopbackConnection(AssertionError):
    """Raised when test code tries to reach anywhere but loopback."""


# First line of defence: `make test` runs the suite in a network namespace holding only
# loopback when the machine allows it (tests/netns.py), which also covers subprocesses.
# Second line, always on: this in-process guard on every way Python code sends to an address.
IN_LOOPBACK_NAMESPACE = os.environ.get("RUNNERFLEET_NETNS") == "inside"


def _check_address(address: Any) -> None:
    if not isinstance(address, tuple):  # AF_UNIX paths are local by definition
        return
    host = address[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost":
            return
        raise NonLoopbackConnection(
            f"connection to host name {host!r} refused by the guard"
        ) from None
    if not ip.is_loopback:
        raise NonLoopbackConnection(f"connection to {host} refused: tests reach 127.0.0.0/8 only")


def _check_host(host: Any) -> None:
    if host not in (None, "localhost"):
        _check_address((host.decode() if isinstance(host, bytes) else str(host), 0))


def _guard_resolver(real: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        _check_host(host)
        return real(host, *args, **kwargs)

    return guarded


def _guard_connect(real: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, address: Any) -> Any:
        _check_address(address)
        return real(self, address)

    return guarded


def _guard_sendto(real: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(
        self: Any, data: Any, *rest: Any
    ) -> Any:  # (data, address) or (data, flags, address)
        if rest:
            _check_address(rest[-1])
        return real(self, data, *rest)

    return guarded


def _guard_sendmsg(real: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, buffers: Any, *rest: Any) -> Any:  # (buffers, ancdata, flags, address)
        if len(rest) >= 3 and rest[2] is not None:
            _check_address(rest[2])
        return real(self, buffers, *rest)

    return guarded


_GUARDS = {
    "connect": _guard_connect,
    "connect_ex": _guard_connect,
    "sendto": _guard_sendto,
    "sendmsg": _guard_sendmsg,
}
_RESOLVERS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex")
_REAL_RAW_SOCKET = _socket.socket


class _GuardedRawSocket(_socket.socket):  # type: ignore[misc]
    """What ``_socket.socket`` becomes, for code that skips the ``socket`` module."""


for _name, _guard in _GUARDS.items():
    setattr(_GuardedRawSocket, _name, _guard(getattr(_REAL_RAW_SOCKET, _name)))


def _install_guard() -> Callable[[], None]:
    """Patch every send path; returns the function that puts the real ones back."""
    saved = {name: getattr(socket.socket, name) for name in _GUARDS}
    resolvers = {name: getattr(socket, name) for name in _RESOLVERS}
    for name, guard in _GUARDS.items():
        setattr(socket.socket, name, guard(saved[name]))
    for name, real in resolvers.items():
        setattr(socket, name, _guard_resolver(real))
    _socket.socket = _socket.SocketType = _GuardedRawSocket

    def restore() -> None:
        for name, real in saved.items():
            setattr(socket.socket, name, real)
        for name, real in resolvers.items():
            setattr(socket, name, real)
        _socket.socket = _socket.SocketType = _REAL_RAW_SOCKET

    return restore


@pytest.fixture(autouse=True, scope="session")
def loopback_only_network() -> Iterator[None]:
    restore = _install_guard()
    yield
    restore()


def pytest_report_header() -> str:
    if IN_LOOPBACK_NAMESPACE:
        return "network: loopback-only namespace (subprocesses included) + in-process guard"
    return "network: in-process guard only (no namespace: run through `make test` for one)"


@pytest.fixture(autouse=True)
def _no_real_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's AWS config, so nothing can fall through to real AWS."""
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("RUNNERFLEET_HOME", str(tmp_path / "runnerfleet-home"))


# ---- one emulator for the suite: a moto server on 127.0.0.1, per xdist worker ----


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto over real HTTP, as boto3 sees AWS; Lambda runs without Docker (echoes)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    body = json.dumps({"lambda": {"use_docker": False}}).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{endpoint}/moto-api/config", data=body)  # noqa: S310
    with opener.open(request):
        pass
    yield endpoint
    server.stop()


# ---- test tiers: unit (pure), contract (adapters against moto, Stubber, stand-ins, bash),
# system (the sandbox and the CLI end to end). `make test` runs them in that order. ----

TIERS = ("unit", "contract", "system")
FOLDER_TIERS = {
    "scaling": "unit",
    "drain": "unit",
    "asgmodel": "unit",
    "envfile": "unit",
    "sim": "unit",
    "stack": "unit",
    "test_network_guard.py": "unit",
    "test_architecture.py": "unit",
    "test_house_rules.py": "unit",
    "autoscaler": "contract",
    "deploy": "contract",
    "gitlab": "contract",
    "access": "contract",
    "ops": "contract",
    "instance": "contract",
    "sandbox": "system",
    "badinput": "system",
    "test_readme.py": "system",
}


def tier_of(path: Path) -> str:
    """A test's tier: its module's own tier marker, else its folder's."""
    part = path.relative_to(REPO / "tests").parts[0]
    if part not in FOLDER_TIERS:
        raise pytest.UsageError(f"tests/{part} has no tier: add it to FOLDER_TIERS in conftest.py")
    return FOLDER_TIERS[part]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(getattr(pytest.mark, tier_of(Path(str(item.fspath)))))
