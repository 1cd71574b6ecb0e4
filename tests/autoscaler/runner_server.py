"""Fake runner ``/metrics`` endpoints on loopback, for scrape tests and the scrape benchmark.

One asyncio loop in a background thread serves any number of 127.x.y.z addresses. Each
endpoint answers with real-format exposition text (as gitlab-runner 19.x writes it), or
misbehaves on purpose: ``hang`` never answers, ``error`` returns HTTP 500, ``garbage`` is not
Prometheus text, ``truncated`` closes half-way through the body. Pages are framed with
Content-Length, in chunks (as Go frames a large page) or by closing the connection. The fleet
process for benchmarks answers with bytes prepared once, so the servers cost little.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

STAGES = ("get_sources", "step_script", "upload_artifacts_on_success", "restore_cache")


def render_metrics(running: int, concurrent: int = 4, limits: tuple[int, ...] = (0,)) -> str:
    """Exposition text like a runner with ``len(limits)`` [[runners]] entries and jobs spread
    over several stages (so the running count is a sum over series, never one series)."""
    lines = [
        "# HELP gitlab_runner_concurrent The current value of concurrent setting",
        "# TYPE gitlab_runner_concurrent gauge",
        f"gitlab_runner_concurrent {concurrent}",
        "# HELP gitlab_runner_jobs The current number of running builds.",
        "# TYPE gitlab_runner_jobs gauge",
    ]
    per_stage = [0] * len(STAGES)
    for n in range(running):
        per_stage[n % len(STAGES)] += 1
    for n, _limit in enumerate(limits):
        labels = f'runner="tok{n:06d}",runner_name="fleet-{n}",system_id="s_0000000000{n:02d}"'
        for stage, count in zip(STAGES, per_stage, strict=True):
            if count and n == 0:
                lines.append(
                    f'gitlab_runner_jobs{{executor_stage="docker_run",{labels},stage="{stage}",'
                    f'state="running"}} {count}'
                )
        lines.append(
            f'gitlab_runner_jobs{{executor_stage="idle",{labels},stage="idle",state="idle"}} 0'
        )
    lines += [
        "# HELP gitlab_runner_limit The current value of concurrent setting",
        "# TYPE gitlab_runner_limit gauge",
    ]
    for n, limit in enumerate(limits):
        lines.append(
            f'gitlab_runner_limit{{runner="tok{n:06d}",runner_name="fleet-{n}",'
            f'system_id="s_0000000000{n:02d}"}} {limit}'
        )
    lines += [
        "# HELP gitlab_runner_jobs_total Total number of handled jobs",
        "# TYPE gitlab_runner_jobs_total counter",
        'gitlab_runner_jobs_total{runner="tok000000",runner_name="fleet-0",system_id="s_1"} 17',
    ]
    return "\n".join(lines + _runner_histograms() + _go_and_process_lines()) + "\n"


def _runner_histograms() -> list[str]:
    """The runner's job-duration and queue histograms and API counters: the rest of its page."""
    labels = 'runner="tok000000",runner_name="fleet-0",system_id="s_000000000000"'
    lines = []
    for name, buckets in (
        ("job_duration_seconds", (30, 60, 300, 600, 1800, 3600, 7200, 10800, 18000, 36000)),
        ("job_queue_duration_seconds", (1, 3, 10, 30, 60, 120, 300, 900, 1800, 3600)),
    ):
        lines += [
            f"# HELP gitlab_runner_{name} Histogram.",
            f"# TYPE gitlab_runner_{name} histogram",
        ]
        for mode in ("default", "docker"):
            for le in (*buckets, "+Inf"):
                lines.append(f'gitlab_runner_{name}_bucket{{{labels},le="{le}",mode="{mode}"}} 7')
            lines.append(f'gitlab_runner_{name}_sum{{{labels},mode="{mode}"}} 4242.5')
            lines.append(f'gitlab_runner_{name}_count{{{labels},mode="{mode}"}} 7')
    lines += ["# HELP gitlab_runner_api_request_statuses_total API requests.",
              "# TYPE gitlab_runner_api_request_statuses_total counter"]  # fmt: skip
    for endpoint in ("request_job", "update_job", "patch_trace", "discovery"):
        for status in (200, 201, 202, 204, 403, 409, 500):
            lines.append(
                f'gitlab_runner_api_request_statuses_total{{endpoint="{endpoint}",method="post",'
                f'runner="tok000000",status="{status}",system_id="s_000000000000"}} 1234'
            )
    return lines


def _go_and_process_lines() -> list[str]:
    """The bulk of a real runner's page: Go runtime and process collectors (about 2/3)."""
    lines = [
        "# HELP go_gc_duration_seconds A summary of the wall-time pause duration.",
        "# TYPE go_gc_duration_seconds summary",
    ]
    for q in ("0", "0.25", "0.5", "0.75", "1"):
        lines.append(f'go_gc_duration_seconds{{quantile="{q}"}} 4.1e-05')
    lines += ["go_gc_duration_seconds_sum 0.012", "go_gc_duration_seconds_count 211"]
    for name in ("alloc_bytes", "buck_hash_sys_bytes", "frees_total", "gc_sys_bytes",
                 "heap_alloc_bytes", "heap_idle_bytes", "heap_inuse_bytes", "heap_objects",
                 "heap_released_bytes", "heap_sys_bytes", "lookups_total", "mallocs_total",
                 "mcache_inuse_bytes", "mcache_sys_bytes", "mspan_inuse_bytes",
                 "mspan_sys_bytes", "next_gc_bytes", "other_sys_bytes", "stack_inuse_bytes",
                 "stack_sys_bytes", "sys_bytes"):  # fmt: skip
        lines += [
            f"# HELP go_memstats_{name} Number of bytes or objects, see runtime.MemStats.",
            f"# TYPE go_memstats_{name} gauge",
            f"go_memstats_{name} 1.2345678e+07",
        ]
    for name in ("cpu_seconds_total", "max_fds", "open_fds", "resident_memory_bytes",
                 "start_time_seconds", "virtual_memory_bytes"):  # fmt: skip
        lines += [
            f"# HELP process_{name} Process collector value.",
            f"# TYPE process_{name} gauge",
            f"process_{name} 1.7e+09",
        ]
    return lines


@dataclass
class Endpoint:
    body: str = field(default_factory=lambda: render_metrics(0))
    mode: str = "ok"  # ok | hang | error | garbage | truncated (closes mid-body)
    hits: int = 0
    delay_s: float = 0.0  # think time before answering, like a busy runner
    framing: str = "length"  # length | chunked (as Go frames a large page) | close


def http_response(status: str, body: bytes, framing: str) -> bytes:
    """A response as a Go server frames it: Content-Length, chunks of 4 KiB, or neither."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
    if framing == "chunked":
        chunks = [body[n : n + 4096] for n in range(0, len(body), 4096)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
        head += "Transfer-Encoding: chunked\r\n"
    elif framing == "length":
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + body


class RunnerMetricsServer:
    """Serve many fake runners from one background event loop. Stops by itself on ``close``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.endpoints: dict[tuple[str, int], Endpoint] = {}
        self._servers: list[asyncio.base_events.Server] = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def add(self, host: str, port: int = 0, endpoint: Endpoint | None = None) -> str:
        """Start serving on host:port (port 0 = any free one); returns ``host:port``."""
        ep = endpoint or Endpoint()
        future = asyncio.run_coroutine_threadsafe(self._listen(host, port, ep), self.loop)
        bound = future.result(timeout=10)
        self.endpoints[(host, bound)] = ep
        return f"{host}:{bound}"

    async def _listen(self, host: str, port: int, ep: Endpoint) -> int:
        server = await asyncio.start_server(
            lambda r, w: self._answer(r, w, ep), host, port, reuse_address=True
        )
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    @staticmethod
    async def _answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ep: Endpoint
    ) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            ep.hits += 1
            if ep.mode == "hang":
                await asyncio.sleep(3600)
            if ep.delay_s:
                await asyncio.sleep(ep.delay_s)
            status = "500 Internal Server Error" if ep.mode == "error" else "200 OK"
            body = ("\x00not metrics{{{" if ep.mode == "garbage" else ep.body).encode()
            response = http_response(status, body, ep.framing)
            if ep.mode == "truncated":
                response = response[: len(response) - len(body) // 2]
            writer.write(response)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        async def shutdown() -> None:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def runner_server() -> Iterator[RunnerMetricsServer]:
    server = RunnerMetricsServer()
    try:
        yield server
    finally:
        server.close()


class _PreparedAnswer(asyncio.Protocol):
    """A fake runner for the fleet process: answers a request with bytes prepared once, so
    the servers cost little next to the scraper under test. ``None`` never answers."""

    def __init__(self, response: bytes | None, delay_s: float) -> None:
        self._response = response
        self._delay_s = delay_s
        self._request = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._request += data
        if b"\r\n\r\n" not in self._request or self._response is None:
            return
        if self._delay_s:
            asyncio.get_running_loop().call_later(self._delay_s, self._answer)
        else:
            self._answer()

    def _answer(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(self._response or b"")
            self._transport.close()


def _serve_forever(hosts: list[str], port: int, delay_s: float, hung: int, events: Any) -> None:
    ready, stop = events
    _allow_many_sockets(2 * len(hosts) + 256)
    pages = [http_response("200 OK", render_metrics(n).encode(), "chunked") for n in range(5)]
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        for n, host in enumerate(hosts):
            answer = None if n < hung else pages[n % 5]
            await loop.create_server(
                lambda a=answer: _PreparedAnswer(a, delay_s), host, port, reuse_address=True
            )
        ready.set()
        for _ in range(12000):  # bounded: never outlives a forgotten benchmark by 10 minutes
            if stop.is_set():
                return
            await asyncio.sleep(0.05)

    try:
        loop.run_until_complete(serve())
    finally:
        loop.close()


def _allow_many_sockets(wanted: int) -> None:
    """One listening socket per fake runner: raise the soft descriptor limit if it is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


@contextmanager
def runner_fleet_process(
    hosts: list[str], port: int, delay_s: float = 0.0, hung: int = 0
) -> Iterator[None]:
    """Serve fake runners on ``hosts`` from a child process, so that the scraper measured in
    this process does not share its interpreter lock with the servers."""
    ctx = multiprocessing.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_serve_forever, args=(hosts, port, delay_s, hung, (ready, stop)))
    proc.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("fake runners did not start within 60 s")
        yield
    finally:
        stop.set()
        proc.join(30)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
