"""Concurrent scraping against fake runners on loopback: timeouts, deadline, failures."""

from __future__ import annotations

import asyncio
import time

from runnerfleet.gitlab.scrape import ScrapeSettings, scrape_all, scrape_all_sync
from tests.autoscaler.runner_server import Endpoint, render_metrics, runner_server


def test_scrape_reads_every_runner() -> None:
    with runner_server() as server:
        hosts = {
            f"i-{n}": server.add("127.0.0.1", 0, Endpoint(render_metrics(n))) for n in range(5)
        }
        results = scrape_all_sync(hosts, ScrapeSettings(timeout_s=2, deadline_s=5))
    assert {iid: r.running_jobs for iid, r in results.items()} == {f"i-{n}": n for n in range(5)}
    assert all(r.error is None and r.slots == 4 for r in results.values())


def test_failures_are_unknown_never_zero() -> None:
    with runner_server() as server:
        hosts = {
            "ok": server.add("127.0.0.1", 0, Endpoint(render_metrics(2))),
            "error": server.add("127.0.0.1", 0, Endpoint(mode="error")),
            "garbage": server.add("127.0.0.1", 0, Endpoint(mode="garbage")),
            "refused": "127.0.0.1:1",
        }
        results = scrape_all_sync(hosts, ScrapeSettings(timeout_s=2, deadline_s=5))
    assert results["ok"].running_jobs == 2
    for name in ("error", "garbage", "refused"):
        assert results[name].running_jobs is None and results[name].error, name
    assert "500" in (results["error"].error or "")


def test_one_hung_host_does_not_block_the_run() -> None:
    with runner_server() as server:
        hosts = {"hung": server.add("127.0.0.1", 0, Endpoint(mode="hang"))}
        hosts |= {
            f"i-{n}": server.add("127.0.0.1", 0, Endpoint(render_metrics(1))) for n in range(3)
        }
        started = time.monotonic()
        results = scrape_all_sync(hosts, ScrapeSettings(timeout_s=0.5, deadline_s=5))
        elapsed = time.monotonic() - started
    assert elapsed < 4.5  # the 0.5 s request timeout ended it, not the 5 s deadline
    assert results["hung"].running_jobs is None and "0.5" in (results["hung"].error or "")
    assert all(results[f"i-{n}"].running_jobs == 1 for n in range(3))


def test_overall_deadline_cancels_what_is_left() -> None:
    with runner_server() as server:
        hosts = {f"h{n}": server.add("127.0.0.1", 0, Endpoint(mode="hang")) for n in range(4)}
        started = time.monotonic()
        # concurrency 1: the deadline, not the per-request timeout, ends the run
        settings = ScrapeSettings(timeout_s=10, deadline_s=0.5, concurrency=1)
        results = asyncio.run(scrape_all(hosts, settings))
        elapsed = time.monotonic() - started
    assert elapsed < 5.0  # the 0.5 s deadline ended it, long before a 10 s request timeout
    assert all(r.running_jobs is None and "deadline" in (r.error or "") for r in results.values())


def test_concurrency_is_bounded() -> None:
    with runner_server() as server:
        hosts = {f"h{n}": server.add("127.0.0.1", 0, Endpoint(mode="hang")) for n in range(6)}
        settings = ScrapeSettings(timeout_s=0.3, deadline_s=5, concurrency=2)
        started = time.monotonic()
        scrape_all_sync(hosts, settings)
        elapsed = time.monotonic() - started
    # 6 hung hosts, 2 at a time, 0.3 s each: three rounds
    assert 0.85 <= elapsed < 2.5


def test_distinct_loopback_addresses() -> None:
    with runner_server() as server:
        hosts = {
            f"i-{n}": server.add(f"127.93.0.{n + 1}", 0, Endpoint(render_metrics(n)))
            for n in range(3)
        }
        results = scrape_all_sync(hosts)
    assert [results[f"i-{n}"].running_jobs for n in range(3)] == [0, 1, 2]
    assert results["i-2"].url.startswith("http://127.93.0.3:")


def test_partial_or_oversized_pages_are_unknown_never_zero() -> None:
    with runner_server() as server:
        hosts = {
            "cut": server.add("127.0.0.1", 0, Endpoint(render_metrics(0), mode="truncated")),
            "chunked-cut": server.add(
                "127.0.0.1", 0, Endpoint(render_metrics(0), mode="truncated", framing="chunked")
            ),
            "huge": server.add("127.0.0.1", 0, Endpoint("gitlab_runner_concurrent 4\n" * 99999)),
            "chunked": server.add("127.0.0.1", 0, Endpoint(render_metrics(3), framing="chunked")),
        }
        results = scrape_all_sync(hosts, ScrapeSettings(timeout_s=2, deadline_s=5))
    for name in ("cut", "chunked-cut", "huge"):
        assert results[name].running_jobs is None and results[name].error, name
    assert "larger than" in (results["huge"].error or "")
    assert results["chunked"].running_jobs == 3


def test_more_hosts_than_workers_each_scraped_once() -> None:
    with runner_server() as server:
        endpoints = [Endpoint(render_metrics(n % 3)) for n in range(12)]
        hosts = {f"i-{n}": server.add("127.0.0.1", 0, ep) for n, ep in enumerate(endpoints)}
        results = scrape_all_sync(hosts, ScrapeSettings(timeout_s=2, deadline_s=5, concurrency=3))
    assert [results[f"i-{n}"].running_jobs for n in range(12)] == [n % 3 for n in range(12)]
    assert [ep.hits for ep in endpoints] == [1] * 12
