"""Scrape N fake runners, each on its own 127.x.y.z:9252: concurrent (asyncio + httpx, bounded)
beside a sequential baseline, measured in the same run. Median wall time over ``--runs``.

The runners are served from a child process (real exposition text, optional think time per
answer). A second table shows one hung runner: sequential scraping waits out the timeout per
hung host; the concurrent scrape is done when the slowest request times out.

  .venv/bin/python -m benchmarks.bench_scrape            # print
  .venv/bin/python -m benchmarks.bench_scrape --write    # and update docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import httpx
from tests.autoscaler.runner_server import runner_fleet_process

from benchmarks.autoscaler_doc import write_block
from runnerfleet.gitlab.metrics import parse_metrics
from runnerfleet.gitlab.scrape import METRICS_PORT, ScrapeSettings, metrics_url, scrape_all_sync

SIZES = (50, 200, 500)
DELAYS = (0.0, 0.005, 0.02)  # loopback answers at once; a VPC hop and a busy runner do not
SETTINGS = ScrapeSettings(timeout_s=2.0, deadline_s=30.0, concurrency=64)


NOTES = """Reading the table: on loopback with no think time the scrape is CPU-bound (httpx's
per-request work plus parsing, all in one interpreter), so running requests side by side buys
nothing; a raw asyncio client measured in passing was about 4x cheaper per request than httpx.
As soon as each answer takes time, as it does across a VPC from a busy runner, the bounded
concurrent scrape wins, and a hung runner costs one timeout for the whole scrape instead of one
per hung host (sequential) or the whole run (the seed's Node client, which never aborted).
Absolute numbers depend heavily on machine load (shared 2-core machine)."""


def hosts_for(n: int) -> list[str]:
    # 127.77.0.0/16: clear of the sandbox's 127.0.100.x runners
    return [f"127.77.{i // 250}.{i % 250 + 1}" for i in range(n)]


def sequential(hosts: list[str], timeout_s: float) -> int:
    """The baseline: one runner after the other, same timeout, same parser."""
    ok = 0
    with httpx.Client(timeout=timeout_s, trust_env=False) as client:
        for host in hosts:
            try:
                response = client.get(metrics_url(host, METRICS_PORT))
                parse_metrics(response.text)
                ok += 1
            except (httpx.HTTPError, ValueError):
                pass
    return ok


def concurrent(hosts: list[str]) -> int:
    results = scrape_all_sync(dict(zip(hosts, hosts, strict=True)), SETTINGS)
    return sum(1 for r in results.values() if r.metrics is not None)


def timed(fn: object, runs: int, *args: object) -> tuple[float, int]:
    times, ok = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        ok = fn(*args)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times), ok


def table(runs: int) -> str:
    rows = [
        "| runners | think time | sequential (s) | concurrent, 64 at a time (s) | speed-up | ok |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for delay in DELAYS:
        for n in SIZES:
            hosts = hosts_for(n)
            with runner_fleet_process(hosts, METRICS_PORT, delay_s=delay):
                seq, ok_s = timed(sequential, runs, hosts, SETTINGS.timeout_s)
                con, ok_c = timed(concurrent, runs, hosts)
            rows.append(
                f"| {n} | {delay * 1000:.0f} ms | {seq:.3f} | {con:.3f} | {seq / con:.1f}x "
                f"| {ok_s}/{ok_c} of {n} |"
            )
            print(rows[-1], flush=True)
    return "\n".join(rows)


def hung_table() -> str:
    hosts = hosts_for(200)
    with runner_fleet_process(hosts, METRICS_PORT, hung=1):
        seq, ok_s = timed(sequential, 1, hosts, SETTINGS.timeout_s)
        con, ok_c = timed(concurrent, 1, hosts)
    return (
        "| 200 runners, 1 hung, timeout 2 s | sequential (s) | concurrent (s) |\n"
        "|---|---:|---:|\n"
        f"| wall time (answers) | {seq:.2f} ({ok_s}) | {con:.2f} ({ok_c}) |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    scraping = table(args.runs)
    hung = hung_table()
    print(hung)
    load = os.getloadavg()[0]
    if args.write:
        write_block(
            "bench_scrape",
            f"### Scraping runners (median of {args.runs} runs, load average {load:.1f})\n\n"
            f"{scraping}\n\nOne hung runner, one run each:\n\n{hung}\n\n{NOTES}",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
