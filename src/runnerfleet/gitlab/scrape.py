"""Scrape every runner's ``/metrics`` concurrently, with hard time limits.

One hung host cannot block the run: each request has its own timeout (connect to last byte),
the whole scrape has a deadline after which unfinished requests are cancelled, and at most
``concurrency`` requests are open at once (that many workers take the hosts in turn). A failed
or partial scrape yields ``running_jobs=None`` (unknown), never 0.

The requests go through ``http1``, a plain asyncio client: at fleet scale the scrape is CPU
work in one interpreter, and a general-purpose HTTP stack costs several times what the bytes
do (docs/benchmarks.md, "Scraping runners").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from runnerfleet.gitlab.http1 import FetchError, get
from runnerfleet.gitlab.metrics import MetricsParseError, RunnerMetrics, parse_metrics

METRICS_PORT = 9252
METRICS_PATH = "/metrics"
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
    return _url(*split_host(host, port))


def split_host(host: str, port: int = METRICS_PORT) -> tuple[str, int]:
    address, colon, given = host.rpartition(":")
    if colon and given.isdigit():
        return address, int(given)
    return host, port


async def scrape_all(
    hosts: Mapping[str, str], settings: ScrapeSettings | None = None
) -> dict[str, ScrapeResult]:
    """Scrape ``{instance_id: host}``; every instance gets a result, failures included."""
    cfg = settings or ScrapeSettings()
    results: dict[str, ScrapeResult] = {}
    todo = iter(hosts.items())
    workers = [
        asyncio.create_task(_worker(todo, results, cfg))
        for _ in range(min(cfg.concurrency, len(hosts)))
    ]
    if workers:
        _done, late = await asyncio.wait(workers, timeout=cfg.deadline_s)
        for worker in late:
            worker.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        await asyncio.sleep(0)  # let the last pages' parsing run (see _worker)
    late_error = f"scrape deadline of {cfg.deadline_s:g}s passed"
    return {
        iid: results.get(iid) or _failed(iid, metrics_url(host, cfg.port), late_error)
        for iid, host in hosts.items()
    }


def scrape_all_sync(
    hosts: Mapping[str, str], settings: ScrapeSettings | None = None
) -> dict[str, ScrapeResult]:
    """``scrape_all`` for callers without an event loop (the Lambda handler, the CLI)."""
    return asyncio.run(scrape_all(hosts, settings))


async def _worker(
    todo: Iterator[tuple[str, str]], results: dict[str, ScrapeResult], cfg: ScrapeSettings
) -> None:
    """Fetch one host after the other. A page is parsed in a callback, so the next request
    is on the wire before the CPU goes to the last answer (the runner thinks meanwhile)."""
    loop = asyncio.get_running_loop()
    for iid, host in todo:  # one shared iterator: each host is taken by exactly one worker
        address, port = split_host(host, cfg.port)
        url = _url(address, port)
        outcome = await _fetch(iid, url, address, port, cfg)
        if isinstance(outcome, ScrapeResult):
            results[iid] = outcome
        else:
            loop.call_soon(_record, results, iid, url, outcome)


async def _fetch(
    iid: str, url: str, address: str, port: int, cfg: ScrapeSettings
) -> bytes | ScrapeResult:
    """The page's bytes, or the failed result."""
    try:
        async with asyncio.timeout(cfg.timeout_s):
            return await get(address, port, METRICS_PATH, MAX_BODY_BYTES)
    except TimeoutError:
        return _failed(iid, url, f"no answer within {cfg.timeout_s:g}s")
    except (OSError, FetchError) as exc:
        return _failed(iid, url, f"{type(exc).__name__}: {exc}"[:300])
    except Exception as exc:  # one odd host must never end the whole evaluation
        return _failed(iid, url, f"unexpected {type(exc).__name__}")


def _record(results: dict[str, ScrapeResult], iid: str, url: str, body: bytes) -> None:
    try:
        metrics = parse_metrics(body.decode("utf-8"))
    except (MetricsParseError, UnicodeDecodeError) as exc:
        results[iid] = _failed(iid, url, f"{type(exc).__name__}: {exc}"[:300])
    except Exception as exc:  # one odd page must never end the whole evaluation
        results[iid] = _failed(iid, url, f"unexpected {type(exc).__name__}")
    else:
        results[iid] = ScrapeResult(iid, url, metrics, None, time.time())


def _url(address: str, port: int) -> str:
    return f"http://{address}:{port}{METRICS_PATH}"


def _failed(iid: str, url: str, error: str) -> ScrapeResult:
    return ScrapeResult(iid, url, None, error, time.time())
