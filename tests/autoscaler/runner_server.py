"""Fake runner ``/metrics`` endpoints on loopback, for scrape tests and the scrape benchmark.

One asyncio loop in a background thread serves any number of 127.x.y.z addresses. Each
endpoint answers with real-format exposition text (as gitlab-runner 19.x writes it), or
misbehaves on purpose: ``hang`` never answers, ``error`` returns HTTP 500, ``garbage`` is not
Prometheus text.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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
        "# HELP process_open_fds Number of open file descriptors.",
        "# TYPE process_open_fds gauge",
        "process_open_fds 23",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Endpoint:
    body: str = field(default_factory=lambda: render_metrics(0))
    mode: str = "ok"  # ok | hang | error | garbage
    hits: int = 0


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
            status = "500 Internal Server Error" if ep.mode == "error" else "200 OK"
            body = ("\x00not metrics{{{" if ep.mode == "garbage" else ep.body).encode()
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
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
