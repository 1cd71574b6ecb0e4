"""The network guard: nothing in the suite reaches beyond 127.0.0.0/8, by any send path."""

import _socket
import json
import socket
import subprocess
import sys

import pytest

from tests.conftest import IN_LOOPBACK_NAMESPACE, REPO, NonLoopbackConnection

OUTSIDE = ("192.0.2.1", 9)  # TEST-NET-1: documentation only, never routed


def test_guard_refuses_private_address() -> None:
    with socket.socket() as sock, pytest.raises(NonLoopbackConnection):
        sock.connect(("172.31.0.4", 9252))


def test_guard_refuses_public_name() -> None:
    with pytest.raises(NonLoopbackConnection):
        socket.create_connection(("example.com", 443), timeout=0.1)


@pytest.mark.parametrize("resolver", ["getaddrinfo", "gethostbyname", "gethostbyname_ex"])
def test_guard_refuses_resolving_public_names(resolver: str) -> None:
    with pytest.raises(NonLoopbackConnection):
        getattr(socket, resolver)("example.com", *([443] if resolver == "getaddrinfo" else []))


def test_guard_refuses_udp_sendto_both_signatures() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(NonLoopbackConnection):
            sock.sendto(b"x", OUTSIDE)
        with pytest.raises(NonLoopbackConnection):
            sock.sendto(b"x", 0, OUTSIDE)


def test_guard_refuses_sendmsg_to_an_address() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        pytest.raises(NonLoopbackConnection),
    ):
        sock.sendmsg([b"x"], [], 0, OUTSIDE)


def test_guard_covers_raw_socket_objects() -> None:
    raw = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        with pytest.raises(NonLoopbackConnection):
            raw.connect(OUTSIDE)
        with pytest.raises(NonLoopbackConnection):
            raw.sendto(b"x", OUTSIDE)
    finally:
        raw.close()


def test_guard_allows_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
    ):
        b.bind(("127.0.0.2", 0))
        a.sendto(b"ping", b.getsockname())
        assert b.recv(4) == b"ping"


def _interfaces_seen_by_a_subprocess(*wrapper: str) -> list[str]:
    probe = "import json, socket; print(json.dumps([n for _, n in socket.if_nameindex()]))"
    done = subprocess.run(
        [*wrapper, sys.executable, "-c", probe],
        capture_output=True, text=True, check=True, timeout=30, cwd=REPO,
    )  # fmt: skip
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.skipif(not IN_LOOPBACK_NAMESPACE, reason="suite not run through tests/netns.py")
def test_subprocesses_of_the_suite_see_only_loopback() -> None:
    assert _interfaces_seen_by_a_subprocess() == ["lo"]


def test_the_namespace_wrapper_leaves_only_loopback_where_it_can() -> None:
    from tests.netns import namespace_possible

    if not namespace_possible():
        pytest.skip("this machine allows no network namespace; the in-process guard remains")
    seen = _interfaces_seen_by_a_subprocess(sys.executable, "-m", "tests.netns")
    assert seen == ["lo"]
