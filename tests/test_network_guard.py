import socket

import pytest

from tests.conftest import NonLoopbackConnection


def test_guard_refuses_private_address() -> None:
    with socket.socket() as sock, pytest.raises(NonLoopbackConnection):
        sock.connect(("172.31.0.4", 9252))


def test_guard_refuses_public_name() -> None:
    with pytest.raises(NonLoopbackConnection):
        socket.create_connection(("example.com", 443), timeout=0.1)


def test_guard_allows_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
