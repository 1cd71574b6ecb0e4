"""One HTTP/1.1 GET over a plain asyncio protocol, for the runners' ``/metrics`` pages.

A scrape is one small request to a known port on a private address, hundreds at a time:
no TLS, no proxy, no redirects, no cookies, no connection reuse (``Connection: close``). A
general-purpose client spends most of the autoscaler's CPU on machinery this never needs; this
one reads the response head once, then the body as gitlab-runner's Go server frames it
(``Transfer-Encoding: chunked`` for a page like a runner's, ``Content-Length`` for small ones,
or until the server closes). A body that ends early is an error, never a shorter page.
"""

from __future__ import annotations

import asyncio
import re
from typing import cast

HEAD_LIMIT = 64 * 1024  # status line and headers
FRAMING_ALLOWANCE = 8  # a chunked body on the wire may exceed its decoded size by 1/8
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LAST_CHUNK = b"0\r\n\r\n"


class FetchError(Exception):
    """The server answered, but not with a complete 200 response we can read."""


async def get(host: str, port: int, path: str, max_body: int) -> bytes:
    """The body of ``GET path``; raises FetchError, OSError, or the caller's timeout."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: runnerfleet\r\n"
        "Accept: text/plain\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    try:
        transport, _ = await loop.create_connection(
            lambda: _Exchange(request, max_body, done), host, port
        )
    except BaseException:
        # a timeout while connecting: asyncio closes the new transport, and the error its
        # closing sets must not land on a future nobody awaits (asyncio would log it)
        done.cancel()
        raise
    try:
        return await done
    finally:
        transport.abort()  # a no-op once the server closed; frees the socket at once if not


class _Exchange(asyncio.Protocol):
    """Collects one response; resolves ``done`` with its body or a FetchError."""

    def __init__(self, request: bytes, max_body: int, done: asyncio.Future[bytes]) -> None:
        self._request = request
        self._max_body = max_body
        self._done = done
        self._data = bytearray()
        self._body_at = -1  # where the body starts, once the head is in
        self._length: int | None = None  # Content-Length, when given
        self._chunked = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast("asyncio.WriteTransport", transport).write(self._request)

    def data_received(self, data: bytes) -> None:
        if self._done.done():
            return
        self._data += data
        try:
            if self._body_at < 0 and not self._read_head():
                return
            if len(self._data) - self._body_at > self._max_body * (1 + 1 / FRAMING_ALLOWANCE):
                raise FetchError(f"body larger than {self._max_body} bytes")
            body = self._complete_body()
        except FetchError as exc:
            self._done.set_exception(exc)
            return
        if body is not None:
            self._done.set_result(body)

    def eof_received(self) -> bool:
        self.connection_lost(None)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._done.done():
            return
        try:
            if exc is not None:  # a reset: whatever came is not the whole page
                raise FetchError(f"connection lost before the response ended: {exc}")
            self._done.set_result(self._body_at_close())
        except FetchError as error:
            self._done.set_exception(error)

    def _read_head(self) -> bool:
        end = self._data.find(b"\r\n\r\n")
        if end < 0:
            if len(self._data) > HEAD_LIMIT:
                raise FetchError(f"response head larger than {HEAD_LIMIT} bytes")
            return False
        status, headers = parse_head(bytes(self._data[:end]))
        if status != 200:
            raise FetchError(f"HTTP {status}")
        self._body_at = end + 4
        self._chunked, self._length = framing(headers, self._max_body)
        return True

    def _complete_body(self) -> bytes | None:
        """The body once all of it is in, else None (more to come)."""
        if self._length is not None and len(self._data) - self._body_at >= self._length:
            return self._body_at_close()
        if self._chunked and self._data.endswith(_LAST_CHUNK):
            return self._capped(dechunk(self._data, self._body_at))
        return None

    def _capped(self, body: bytes | None) -> bytes | None:
        if body is not None and len(body) > self._max_body:
            raise FetchError(f"body larger than {self._max_body} bytes")
        return body

    def _body_at_close(self) -> bytes:
        if self._body_at < 0:
            raise FetchError("connection closed before a complete response head")
        body = (
            self._capped(dechunk(self._data, self._body_at))
            if self._chunked
            else self._capped(bytes(self._data[self._body_at :]))
        )
        if body is None:
            raise FetchError("connection closed inside a chunked body")
        if self._length is not None and len(body) != self._length:
            raise FetchError(f"body has {len(body)} of {self._length} bytes (Content-Length)")
        return body


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status code and headers (names lower-cased; a repeated header's values joined)."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise FetchError(f"not an HTTP/1.x response: {status_line[:60]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise FetchError(f"malformed header line {line[:60]!r}")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return int(code), headers


def framing(headers: dict[str, str], max_body: int) -> tuple[bool, int | None]:
    """(chunked, Content-Length) from the headers; refuses what we cannot read."""
    coding = headers.get("content-encoding", "identity").strip().lower()
    if coding not in ("", "identity"):
        raise FetchError(f"Content-Encoding {coding} was not asked for")
    transfer = headers.get("transfer-encoding", "").strip().lower()
    if transfer:
        if transfer != "chunked":
            raise FetchError(f"Transfer-Encoding {transfer} is not supported")
        return True, None
    length = headers.get("content-length")
    if length is None:
        return False, None
    if not length.strip().isdigit():
        raise FetchError(f"Content-Length {length[:30]!r} is not a number")
    if int(length) > max_body:
        raise FetchError(f"body larger than {max_body} bytes (Content-Length {int(length)})")
    return False, int(length)


def dechunk(data: bytes | bytearray, at: int) -> bytes | None:
    """The body of a chunked message starting at ``at``; None while it is incomplete."""
    with memoryview(data) as view:  # chunks are joined from views: one copy, not two
        parts: list[memoryview] = []
        while True:
            eol = data.find(b"\r\n", at)
            if eol < 0:
                return None
            size, start = _chunk_size(data[at:eol]), eol + 2
            if size == 0:  # the last chunk; trailer fields, if any, are not read
                return b"".join(parts)
            end = start + size
            if len(data) < end + 2:
                return None
            if data[end : end + 2] != b"\r\n":
                raise FetchError("chunk does not end where its size says")
            parts.append(view[start:end])
            at = end + 2


def _chunk_size(line: bytes | bytearray) -> int:
    size = line.split(b";", 1)[0].strip()  # chunk extensions are ignored, as HTTP allows
    if _HEX.fullmatch(size) is None:
        raise FetchError(f"bad chunk size {bytes(size[:20])!r}")
    return int(size, 16)
