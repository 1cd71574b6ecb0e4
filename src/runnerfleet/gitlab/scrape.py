"""Scrape every runner's ``/metrics`` concurrently, with hard time limits.

One hung host cannot block the run: each request has its own timeout, the whole scrape has a
deadline after which unfinished requests are cancelled, and a semaphore bounds concurrency.
A failed scrape yields ``running_jobs=None`` (unknown), never 0.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from runnerfleet.gitlab.metrics import MetricsParseError, RunnerMetrics, parse_metrics

METRICS_PORT = 9252
MAX_BODY_BYTES = 2 * 1024 * 1024  # a runner's page is ~20 KB; refuse anything absurd


@dataclass(frozen=True, slots=True)
class ScrapeSettings:
    port: int = METRICS_PORT
    timeout_s: float = 3.0  # per request, connect to last byte
    deadline_s: float = 20.0  # the whole scrape
    concurrency: int = 64


@dataclass(frozen=True, slots=True)
class ScrapeResult:
    instance_id: str
    url: str
    metrics: RunnerMetrics | None
    error: str | None
    scraped_at: float  # epoch seconds when the answer (or the failure) came

    @property
    def running_jobs(self) -> int | None:
        return None if self.metrics is None else self.metrics.running_jobs

    @property
    def slots(self) -> int:
        return 0 if self.metrics is None else self.metrics.slots


def metrics_url(host: str, port: int = METRICS_PORT) -> str:
    """``host`` may carry its own port (``127.0.0.1:40123``), as test endpoints do."""
    return f"http://{host}/metrics" if ":" in host else f"http://{host}:{port}/metrics"


async def scrape_all(
    hosts: Mapping[str, str],
    settings: ScrapeSettings | None = None,
    client: httpx.AsyncClient | None = None,
) -> dict[str, ScrapeResult]:
    """Scrape ``{instance_id: host}``; every instance gets a result, failures included."""
    cfg = settings or ScrapeSettings()
    if client is None:
        async with _client(cfg) as own:
            return await _scrape_with(own, hosts, cfg)
    return await _scrape_with(client, hosts, cfg)


def scrape_all_sync(
    hosts: Mapping[str, str], settings: ScrapeSettings | None = None
) -> dict[str, ScrapeResult]:
    """``scrape_all`` for callers without an event loop (the Lambda handler, the CLI)."""
    return asyncio.run(scrape_all(hosts, settings))


def _client(cfg: ScrapeSettings) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=cfg.concurrency, max_keepalive_connections=0)
    # trust_env=False: a proxy from the environment must never carry runner traffic
    return httpx.AsyncClient(timeout=cfg.timeout_s, limits=limits, trust_env=False)


async def _scrape_with(
    client: httpx.AsyncClient, hosts: Mapping[str, str], cfg: ScrapeSettings
) -> dict[str, ScrapeResult]:
    gate = asyncio.Semaphore(cfg.concurrency)
    tasks = {
        iid: asyncio.create_task(_scrape_one(client, gate, iid, metrics_url(host, cfg.port), cfg))
        for iid, host in hosts.items()
    }
    if tasks:
        _done, late = await asyncio.wait(tasks.values(), timeout=cfg.deadline_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    results: dict[str, ScrapeResult] = {}
    for iid, task in tasks.items():
        url = metrics_url(hosts[iid], cfg.port)
        late_result = _failed(iid, url, f"scrape deadline of {cfg.deadline_s:g}s passed")
        results[iid] = task.result() if task.done() and not task.cancelled() else late_result
    return results


async def _scrape_one(
    client: httpx.AsyncClient, gate: asyncio.Semaphore, iid: str, url: str, cfg: ScrapeSettings
) -> ScrapeResult:
    async with gate:
        try:
            async with asyncio.timeout(cfg.timeout_s):
                text = await _fetch(client, url)
            metrics = parse_metrics(text)
        except TimeoutError:
            return _failed(iid, url, f"no answer within {cfg.timeout_s:g}s")
        except (httpx.HTTPError, MetricsParseError, UnicodeDecodeError) as exc:
            return _failed(iid, url, f"{type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # one odd host must never end the whole evaluation
            return _failed(iid, url, f"unexpected {type(exc).__name__}")
    return ScrapeResult(iid, url, metrics, None, time.time())


async def _fetch(client: httpx.AsyncClient, url: str) -> str:
    async with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise httpx.HTTPStatusError(
                f"HTTP {response.status_code}", request=response.request, response=response
            )
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > MAX_BODY_BYTES:
                raise httpx.DecodingError(f"body larger than {MAX_BODY_BYTES} bytes")
        return body.decode("utf-8")


def _failed(iid: str, url: str, error: str) -> ScrapeResult:
    return ScrapeResult(iid, url, None, error, time.time())
