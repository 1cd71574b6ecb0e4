"""Scrape N fake runners, each on its own 127.x.y.z:9252, with every contender measured side by
side in the same run (their order rotates from run to run, so machine load falls on all alike).

Contenders: our ``scrape_all`` (plain asyncio protocol + line scan of our three families), a
minimal asyncio client (streams, read to EOF, no timeouts or checks: the floor), the previous
implementation (httpx + prometheus_client), and a sequential ``http.client`` loop. The fake
runners serve a 17 KB page, chunked as Go frames it, from a child process, so their CPU is not
counted in ours. Figures: wall and CPU (process time) medians; memory at 2,000 runners as the
tracemalloc peak of one scrape and the process's peak RSS.

  .venv/bin/python -m benchmarks.bench_scrape            # print
  .venv/bin/python -m benchmarks.bench_scrape --write    # and update docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.autoscaler.runner_server import runner_fleet_process

from benchmarks.autoscaler_doc import write_block
from runnerfleet.gitlab.metrics import CONCURRENT, JOBS, LIMIT, parse_metrics
from runnerfleet.gitlab.scrape import METRICS_PORT, ScrapeSettings, scrape_all_sync

SETTINGS = ScrapeSettings(timeout_s=2.0, deadline_s=45.0, concurrency=64)
LAMBDA_FULL_VCPU_MB = 1769  # AWS: a function gets one full vCPU at 1,769 MB, pro rata below
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dev.yaml"

Timing = tuple[float, float]  # wall, CPU seconds


def hosts_for(n: int) -> list[str]:
    # 127.77.0.0/16: clear of the sandbox's 127.0.100.x runners
    return [f"127.77.{i // 250}.{i % 250 + 1}" for i in range(n)]


def ours(hosts: list[str]) -> int:
    results = scrape_all_sync(dict(zip(hosts, hosts, strict=True)), SETTINGS)
    return sum(1 for r in results.values() if r.metrics is not None)


def minimal(hosts: list[str]) -> int:
    """The floor: open, send, read to EOF, count the running lines. No checks of any kind."""

    async def one(gate: asyncio.Semaphore, host: str) -> float:
        async with gate:
            reader, writer = await asyncio.open_connection(host, METRICS_PORT)
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (
                host.encode()))  # fmt: skip
            data = await reader.read()
            writer.close()
        running = 0.0
        for line in data.decode().split("\n"):
            if line.startswith(JOBS + "{") and 'state="running"' in line:
                running += float(line.rsplit(" ", 1)[1])
        return running

    async def run() -> int:
        gate = asyncio.Semaphore(SETTINGS.concurrency)
        return len(await asyncio.gather(*(one(gate, h) for h in hosts)))

    return asyncio.run(run())


def previous(hosts: list[str]) -> int:
    """What scrape_all did before: httpx.AsyncClient, a semaphore, prometheus_client."""

    async def one(client: httpx.AsyncClient, gate: asyncio.Semaphore, host: str) -> object:
        async with gate:
            response = await client.get(f"http://{host}:{METRICS_PORT}/metrics")
        return parse_metrics_with_prometheus_client(response.text)

    async def run() -> int:
        limits = httpx.Limits(max_connections=SETTINGS.concurrency, max_keepalive_connections=0)
        gate = asyncio.Semaphore(SETTINGS.concurrency)
        async with httpx.AsyncClient(timeout=2.0, limits=limits, trust_env=False) as client:
            return len(await asyncio.gather(*(one(client, gate, h) for h in hosts)))

    return asyncio.run(run())


_PREVIOUS_PREFIXES = tuple(
    f"{lead}{name}{tail}"
    for name in (JOBS, CONCURRENT, LIMIT)
    for lead, tail in (("", "{"), ("", " "), ("# HELP ", " "), ("# TYPE ", " "))
)


def parse_metrics_with_prometheus_client(text: str) -> float:
    """The previous parser: keep the lines of our families, hand them to prometheus_client."""
    kept = "\n".join(ln for ln in text.splitlines() if ln.startswith(_PREVIOUS_PREFIXES)) + "\n"
    return sum(
        s.value
        for family in text_string_to_metric_families(kept)
        for s in family.samples
        if s.name == JOBS and s.labels.get("state") == "running"
    )


def sequential(hosts: list[str]) -> int:
    """The baseline: one runner after the other with http.client, same timeout and parser."""
    ok = 0
    for host in hosts:
        conn = http.client.HTTPConnection(host, METRICS_PORT, timeout=SETTINGS.timeout_s)
        try:
            conn.request("GET", "/metrics")
            parse_metrics(conn.getresponse().read().decode())
            ok += 1
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            conn.close()
    return ok


def measure(fn: Callable[[list[str]], int], hosts: list[str]) -> tuple[Timing, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    ok = fn(hosts)
    return (time.perf_counter() - wall, time.process_time() - cpu), ok


def side_by_side(
    contenders: dict[str, Callable[[list[str]], int]], hosts: list[str], runs: int
) -> dict[str, tuple[Timing, int]]:
    """Median wall and CPU of each contender, their order rotated from one run to the next."""
    names = list(contenders)
    samples: dict[str, list[Timing]] = {name: [] for name in names}
    answers: dict[str, int] = {}
    for run in range(runs):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            timing, answers[name] = measure(contenders[name], hosts)
            samples[name].append(timing)
    return {name: (_medians(samples[name]), answers[name]) for name in names}


def _medians(timings: list[Timing]) -> Timing:
    return statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)


def at_once_table(runs: int) -> tuple[str, dict[str, tuple[Timing, int]]]:
    hosts = hosts_for(500)
    contenders = {
        "ours": ours,
        "minimal asyncio client": minimal,
        "previous (httpx + prometheus_client)": previous,
        "sequential http.client": sequential,
    }
    with runner_fleet_process(hosts, METRICS_PORT):
        figures = side_by_side(contenders, hosts, runs)
    (wall0, cpu0), _ = figures["ours"]
    rows = [
        f"500 runners answering at once (no think time), median of {runs} runs:",
        "",
        "| scraper | wall (s) | CPU (s) | wall / ours | CPU / ours | answers |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, ((wall, cpu), ok) in figures.items():
        rows.append(
            f"| {name} | {wall:.3f} | {cpu:.3f} | {wall / wall0:.2f}x | {cpu / cpu0:.2f}x "
            f"| {ok}/500 |"
        )
    return "\n".join(rows), figures


def think_table(runs: int) -> str:
    hosts = hosts_for(500)
    with runner_fleet_process(hosts, METRICS_PORT, delay_s=0.02):
        figures = side_by_side({"ours": ours, "sequential": sequential}, hosts, runs)
    (seq, _), ok_s = figures["sequential"]
    (con, cpu), ok_c = figures["ours"]
    return (
        f"500 runners, each thinking 20 ms before it answers, median of {runs} runs:\n\n"
        "| sequential http.client (s) | ours, 64 at a time (s) | ours CPU (s) | speed-up |"
        " answers |\n|---:|---:|---:|---:|---:|\n"
        f"| {seq:.2f} | {con:.3f} | {cpu:.3f} | **{seq / con:.0f}x** | {ok_s}/{ok_c} of 500 |"
    )


def lambda_limits() -> tuple[int, int]:
    """The autoscaler function's Timeout (s) and MemorySize (MB), as the stack sets them."""
    from runnerfleet.envfile import load_environment
    from runnerfleet.stack.wiring import autoscaler

    function = autoscaler(load_environment(EXAMPLE))
    return function.timeout, function.memory


def memory_peak_mb(hosts: list[str]) -> float:
    tracemalloc.start()
    try:
        ours(hosts)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def fleet_table(runs: int) -> str:
    timeout_s, memory_mb = lambda_limits()
    share = memory_mb / LAMBDA_FULL_VCPU_MB
    hosts = hosts_for(2000)
    rows = [
        f"2,000 runners against the autoscaler Lambda's limits (Timeout {timeout_s} s, "
        f"MemorySize {memory_mb} MB, so {share:.0%} of a vCPU), median of {runs} runs:",
        "",
        "| think time | wall (s) | CPU (s) | CPU at the Lambda's share (s) | of the timeout "
        "| tracemalloc peak (MB) | peak RSS (MB) | answers |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for delay in (0.0, 0.02):
        with runner_fleet_process(hosts, METRICS_PORT, delay_s=delay):
            ((wall, cpu), ok) = side_by_side({"ours": ours}, hosts, runs)["ours"]
            peak = memory_peak_mb(hosts)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worst = max(wall, cpu / share)  # CPU-bound at the Lambda's share, or waiting on runners
        rows.append(
            f"| {delay * 1000:.0f} ms | {wall:.3f} | {cpu:.3f} | {cpu / share:.2f} "
            f"| {worst / timeout_s:.0%} | {peak:.1f} | {rss:.0f} | {ok}/2000 |"
        )
    return "\n".join(rows)


def hung_table() -> str:
    hosts = hosts_for(200)
    with runner_fleet_process(hosts, METRICS_PORT, hung=1):
        ((seq, _), ok_s) = measure(sequential, hosts)
        ((con, _), ok_c) = measure(ours, hosts)
    return (
        "200 runners, 1 of them hung, timeout 2 s, one run each:\n\n"
        "| sequential (s) | ours (s) |\n|---:|---:|\n"
        f"| {seq:.2f} ({ok_s} answers) | {con:.2f} ({ok_c} answers) |"
    )


NOTES = """Reading the tables: on loopback every scraper is CPU-bound in one interpreter, so CPU per
request decides. Connecting, reading and closing is the same kernel work for all of them; what
differs is the Python around it. httpx/httpcore/anyio build a request, a response, a stream and
a connection pool per scrape, and prometheus_client parses every line of the page, so the
previous scraper spent several times the bytes' cost. Ours reads the response with one asyncio
protocol object (chunked, Content-Length or to EOF; a body that ends early is an error) and
parses only the lines that name our three families. It stays close to the minimal client,
which checks nothing. aiohttp was not a candidate for the Lambda: its speed comes from compiled
extensions, and the Lambda zip is pure Python. Across a VPC each answer takes time, and the
bounded concurrent scrape waits for 64 runners at a time instead of one. Memory stays flat with
fleet size because at most 64 bodies are in flight. The "CPU at the Lambda's share" column
scales our CPU to the fraction of a vCPU the function's memory setting buys; the function also
runs on arm64, so treat it as an estimate, not a measurement."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    at_once, _ = at_once_table(args.runs)
    print(at_once, flush=True)
    think = think_table(max(1, args.runs // 2))
    print(think, flush=True)
    fleet = fleet_table(max(1, args.runs // 2))
    print(fleet, flush=True)
    hung = hung_table()
    print(hung)
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, 2 cores"
    if args.write:
        write_block(
            "bench_scrape",
            f"### Scraping runners ({load})\n\nCommand: `.venv/bin/python -m "
            f"benchmarks.bench_scrape --runs {args.runs} --write`.\n\n"
            f"{at_once}\n\n{think}\n\n{fleet}\n\n{hung}\n\n{NOTES}",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
