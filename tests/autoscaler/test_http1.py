"""The scraper's HTTP/1.1 client: every framing a Go server uses, and every way a response
can be incomplete, too large or not HTTP at all. Incomplete is an error, never a short page."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnerfleet.gitlab import http1
from runnerfleet.gitlab.http1 import FetchError, dechunk, framing, get, parse_head
from tests.autoscaler.runner_server import Endpoint, http_response, render_metrics, runner_server

PAGE = render_metrics(2)


def fetch(address: str, max_body: int = 1 << 20) -> bytes:
    host, port = address.rsplit(":", 1)
    return asyncio.run(asyncio.wait_for(get(host, int(port), "/metrics", max_body), 5))


@pytest.mark.parametrize("how", ["length", "chunked", "close"])
def test_each_framing_gives_the_whole_page(how: str) -> None:
    with runner_server() as server:
        address = server.add("127.0.0.1", 0, Endpoint(PAGE, framing=how))
        assert fetch(address) == PAGE.encode()


@pytest.mark.parametrize("how", ["length", "chunked"])
def test_a_body_cut_short_is_an_error(how: str) -> None:
    with runner_server() as server:
        address = server.add("127.0.0.1", 0, Endpoint(PAGE, mode="truncated", framing=how))
        with pytest.raises(FetchError, match=r"Content-Length|chunked"):
            fetch(address)


@pytest.mark.parametrize("how", ["length", "chunked", "close"])
def test_a_body_over_the_cap_is_refused(how: str) -> None:
    with runner_server() as server:
        address = server.add("127.0.0.1", 0, Endpoint(PAGE, framing=how))
        with pytest.raises(FetchError, match="larger than 1000 bytes"):
            fetch(address, max_body=1000)


def test_a_status_other_than_200_is_an_error() -> None:
    with runner_server() as server:
        address = server.add("127.0.0.1", 0, Endpoint(mode="error"))
        with pytest.raises(FetchError, match="HTTP 500"):
            fetch(address)


def serve_raw(reply: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> Callable[[], bytes]:
    """A one-off server that answers with ``reply``; returns a fetch against it."""

    async def run() -> bytes:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await reply(writer)
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await asyncio.wait_for(get("127.0.0.1", port, "/metrics", 1 << 20), 5)

    return lambda: asyncio.run(run())


def test_a_response_in_many_small_pieces_is_put_together() -> None:
    response = http_response("200 OK", PAGE.encode(), "chunked")

    async def trickle(writer: asyncio.StreamWriter) -> None:
        for n in range(0, len(response), 777):
            writer.write(response[n : n + 777])
            await writer.drain()
            await asyncio.sleep(0.001)

    assert serve_raw(trickle)() == PAGE.encode()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP/1.x response"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nxx", "Content-Encoding gzip"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "Transfer-Encoding"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", "not a number"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "before a complete response head"),
    ],
)
def test_what_is_not_a_readable_response_says_why(reply: bytes, error: str) -> None:
    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(reply)
        await writer.drain()

    with pytest.raises(FetchError, match=error):
        serve_raw(send)()


def test_head_parsing_lower_cases_names_and_joins_repeats() -> None:
    status, headers = parse_head(b"HTTP/1.0 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length:  7 ")
    assert status == 200 and headers == {"x-a": "1, 2", "content-length": "7"}
    assert framing(headers, 100) == (False, 7)


@given(
    st.binary(max_size=3000),
    st.lists(st.integers(1, 700), min_size=1, max_size=20),
    st.sampled_from(["", ";ext=1", " "]),
)
def test_dechunk_undoes_any_chunking_and_waits_for_the_last_chunk(
    body: bytes, sizes: list[int], extension: str
) -> None:
    chunks, at = [], 0
    while at < len(body):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(body[at : at + size])
        at += size
    wire = b"".join(b"%x%s\r\n%s\r\n" % (len(c), extension.encode(), c) for c in chunks)
    wire += b"0\r\n\r\n"
    assert dechunk(wire, 0) == body
    for cut in {0, len(wire) // 3, len(wire) // 2, len(wire) - 3}:
        assert dechunk(wire[:cut], 0) is None


def test_a_timeout_while_connecting_leaves_no_unread_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scrape's timeout cancels a request while its connection is being set up (as under
    load): asyncio closes the new transport, and nothing is logged as never retrieved."""
    unread: list[str] = []
    original = http1._Exchange.connection_made

    def connected_then_cancelled(self: http1._Exchange, transport: asyncio.BaseTransport) -> None:
        original(self, transport)
        request.cancel()  # the timeout firing before create_connection returned

    monkeypatch.setattr(http1._Exchange, "connection_made", connected_then_cancelled)

    async def run() -> None:
        nonlocal request
        asyncio.get_running_loop().set_exception_handler(lambda _l, c: unread.append(c["message"]))

        async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.close()

        server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            request = asyncio.create_task(get("127.0.0.1", port, "/metrics", 1 << 20))
            with pytest.raises(asyncio.CancelledError):
                await request
            await asyncio.sleep(0.05)  # the closed transport calls connection_lost
        del request
        gc.collect()

    request: asyncio.Task[bytes]
    asyncio.run(run())
    assert unread == []
