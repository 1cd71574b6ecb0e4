"""Simulator benchmark: speed and memory on the whole shared trace, and the policy figures.

Run: .venv/bin/python -m benchmarks.bench_sim [--write] [--runs 3]

1. Speed: the 42-day shared trace (16,919 replayable jobs) through the default policy,
   boot 180 s, 4 slots: median wall time of ``--runs`` runs (trace loading excluded, timed
   separately) and the peak RSS of this process (resource.getrusage), measured before anything
   else runs.
2. Scale: one variant of the ``year`` workload family (364 days, about 90,000 jobs) through
   the default policy (median CPU time of ``--runs`` runs, limit 5 s), and a year of the
   ``batch`` family at 2x (about a million jobs) in a fresh process: CPU time (limit 60 s)
   and that process's peak RSS (limit 1 GB), trace generation excluded.
3. Figures: every policy, including ``seed`` and a ``static`` fleet sized for the zero-wait
   peak, with 4 slots per instance and boot times of 180 s and 30 s, all side by side.
   The default policy must beat ``seed`` on both p95 wait and cost at both boot times.

``--write`` replaces the ``## Simulator`` section of docs/benchmarks.md with the results.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from runnerfleet.sim.catalog import DEFAULT_POLICY, PREVIOUS, build_policy
from runnerfleet.sim.convert import read_source
from runnerfleet.sim.engine import simulate
from runnerfleet.sim.families import FAMILIES
from runnerfleet.sim.model import BootProfile, SimConfig
from runnerfleet.sim.report import PolicyResult, bounds, peak_running, summarize
from runnerfleet.sim.synthetic import generate, scaled
from runnerfleet.sim.trace import Trace

REPO = Path(__file__).resolve().parents[1]
SHARED_TRACE = REPO.parent / "shared" / "traces" / "bitcoin-core-gha-2025-09.csv.gz"
DOC = REPO / "docs" / "benchmarks.md"
POLICIES = ("seed", "idle", "queue", "schedule", "static", "previous")
PREVIOUS_LABEL = "previous"  # the default policy with the defaults it had before these figures
BOOTS = (180.0, 30.0)
SLOTS = 4
SPEED_LIMIT_S = 5.0
RSS_LIMIT_MB = 300.0
YEAR = (2, 1.0)  # the year family's variant (seed, scale) timed
MILLION = (2, 2.0, 364.0)  # the batch family for a year at 2x (seed, scale, days): ~1M jobs
YEAR_LIMIT_S = 5.0
MILLION_LIMIT_S = 60.0
MILLION_RSS_MB = 1024.0

LABELS = {
    DEFAULT_POLICY: f"**{DEFAULT_POLICY} (environment-file defaults)**",
    PREVIOUS_LABEL: f"{DEFAULT_POLICY}, previous defaults "
    + ", ".join(f"{k}={v:g}" for k, v in PREVIOUS[DEFAULT_POLICY].items()),
    "static": "static (sized for the peak)",
}

READING = """
Reading the figures:
- The p95 wait on this trace is set by the boot time plus up to one tick: a 19-job pipeline
  needs five fresh instances whatever a policy keeps idle. `queue` sees GitLab's pending jobs
  and launches for all of them at once; `seed` and `idle` see only running jobs, so they add a
  few instances per tick and wait several boots.
- The defaults (`idle_count: 2`, `idle_time_s: 180`, `scale_factor: 0`) were chosen by their
  worst case over every workload family, not on this trace (section "Policies" below). The
  previous defaults (`idle_count: 0`, `idle_time_s: 120`, `scale_factor: 0.25`) are cheaper
  here, but on a workload of a few pipelines a day they made every job wait a boot where the
  seed's formula started it within a runner poll.
- `runnerfleet tune --target-p95 S --trace FILE` searches for the cheapest parameters under
  your own wait target on your own trace, and prints the `scaling:` snippet to use.
- The static fleet sized for the peak has no wait and costs several times the seed.
"""

_TRACE: Trace | None = None


def _trace() -> Trace:
    global _TRACE  # noqa: PLW0603  (one load per worker process)
    if _TRACE is None:
        _TRACE = read_source(SHARED_TRACE).trace
    return _TRACE


def _config(boot: float) -> SimConfig:
    return SimConfig(slots=SLOTS, boot=BootProfile(cold_s=boot))


def speed(runs: int) -> dict[str, float]:
    t0 = time.perf_counter()
    trace = _trace()
    load_s = time.perf_counter() - t0
    policy = build_policy(DEFAULT_POLICY, SLOTS)
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        simulate(trace, policy, _config(180.0))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"load_s": load_s, "median_s": statistics.median(times), "max_s": max(times),
            "cpu_s": statistics.median(cpu), "rss_mb": rss_mb,
            "loadavg": os.getloadavg()[0]}  # fmt: skip


def _year(variant: tuple[int, float]) -> Trace:
    seed, scale = variant
    return generate(scaled(FAMILIES["year"].params, scale=scale), seed=seed)


def _timed(trace: Trace) -> tuple[float, float]:
    """Wall and CPU seconds of the default policy on ``trace``, boot 180 s."""
    policy = build_policy(DEFAULT_POLICY, SLOTS, peak_running=peak_running(trace))
    t0, c0 = time.perf_counter(), time.process_time()
    simulate(trace, policy, _config(180.0))
    return time.perf_counter() - t0, time.process_time() - c0


def year_speed(runs: int) -> dict[str, float]:
    trace = _year(YEAR)
    walls, cpus = zip(*(_timed(trace) for _ in range(runs)), strict=True)
    return {"jobs": len(trace), "median_s": statistics.median(walls), "max_s": max(walls),
            "cpu_s": statistics.median(cpus)}  # fmt: skip


def _million(variant: tuple[int, float, float]) -> dict[str, float]:
    seed, scale, days = variant
    trace = generate(scaled(FAMILIES["batch"].params, days=days, scale=scale), seed=seed)
    wall, cpu = _timed(trace)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"jobs": len(trace), "wall_s": wall, "cpu_s": cpu, "rss_mb": rss_mb}


def million_speed() -> dict[str, float]:
    """In a fresh process, so that its peak RSS is this run's alone."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        return pool.submit(_million, MILLION).result()


def one(job: tuple[str, float]) -> tuple[str, float, PolicyResult]:
    name, boot = job
    trace = _trace()
    if name == PREVIOUS_LABEL:
        params = PREVIOUS[DEFAULT_POLICY]
        policy = build_policy(DEFAULT_POLICY, SLOTS, params, label=PREVIOUS_LABEL)
    else:
        policy = build_policy(name, SLOTS, peak_running=peak_running(trace))
    run = simulate(trace, policy, _config(boot))
    return name, boot, summarize(run, bounds(trace, SLOTS, boot))


def figures() -> dict[tuple[str, float], PolicyResult]:
    jobs = [(name, boot) for boot in BOOTS for name in POLICIES]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return {(n, b): r for n, b, r in pool.map(one, jobs)}


def verdicts(results: dict[tuple[str, float], PolicyResult], label: str) -> list[str]:
    lines = []
    for boot in BOOTS:
        ours, seed = results[(label, boot)], results[("seed", boot)]
        wait_ok = ours.wait_p95_s < seed.wait_p95_s
        cost_ok = ours.cost < seed.cost
        lines.append(
            f"- boot {boot:g} s, `{label}`: p95 {ours.wait_p95_s:g} s vs seed "
            f"{seed.wait_p95_s:g} s ({ours.wait_p95_s / seed.wait_p95_s:.2f}x), cost "
            f"{ours.cost:.2f} vs {seed.cost:.2f} ({ours.cost / seed.cost:.2f}x): "
            + ("beats seed on both" if wait_ok and cost_ok else "**does not beat seed on both**")
        )
    return lines


def scale_lines(year: dict[str, float], million: dict[str, float]) -> list[str]:
    return [
        f"Scale, `{DEFAULT_POLICY}` policy, boot 180 s: the `year` family's variant (seed"
        f" {YEAR[0]}, x{YEAR[1]:g}, {year['jobs']:,.0f} jobs over 364 days) in"
        f" **{year['cpu_s']:.2f} s** of CPU (wall {year['median_s']:.2f} s, max"
        f" {year['max_s']:.2f} s; median of the runs above; limit {YEAR_LIMIT_S:g} s);"
        f" a year of the `batch` family at x{MILLION[1]:g} ({million['jobs']:,.0f} jobs) in"
        f" **{million['cpu_s']:.1f} s** of CPU (wall {million['wall_s']:.1f} s; limit"
        f" {MILLION_LIMIT_S:g} s), peak RSS of that process **{million['rss_mb']:.0f} MB**"
        f" (limit {MILLION_RSS_MB:g} MB, trace generation included in the RSS, not the time).",
    ]


def scale_ok(year: dict[str, float], million: dict[str, float]) -> bool:
    return (
        year["cpu_s"] < YEAR_LIMIT_S
        and million["cpu_s"] < MILLION_LIMIT_S
        and million["rss_mb"] < MILLION_RSS_MB
    )


def render(speed_row: dict[str, float], results: dict[tuple[str, float], PolicyResult],
           runs: int, scale: list[str]) -> str:  # fmt: skip
    any_result = next(iter(results.values()))
    clairvoyant = ", ".join(
        f"{results[('seed', b)].clairvoyant_instance_hours:g} at boot {b:g} s" for b in BOOTS
    )
    out = [
        "## Simulator",
        "",
        "Command: `.venv/bin/python -m benchmarks.bench_sim --write` (the shared 42-day trace,"
        " converted in memory; 16,919 replayable jobs).",
        "",
        f"Speed, `{DEFAULT_POLICY}` policy, 4 slots, boot 180 s, median of {runs} runs:"
        f" **{speed_row['median_s']:.2f} s** (max {speed_row['max_s']:.2f} s; limit"
        f" {SPEED_LIMIT_S:g} s), CPU time {speed_row['cpu_s']:.2f} s (machine load average"
        f" {speed_row['loadavg']:.1f} on 2 cores while measuring); loading and converting the"
        f" trace {speed_row['load_s']:.2f} s;"
        f" peak RSS **{speed_row['rss_mb']:.0f} MB** (limit {RSS_LIMIT_MB:g} MB).",
        "",
        *scale,
        "",
        f"Figures: 4 slots per instance, price {0.0416} per instance-hour, check_interval 3 s,"
        f" autoscaler tick 60 s, seed 0. Lower bound {any_result.lower_bound_instance_hours:g}"
        " instance-hours (integral of ceil(running / 4) with zero wait); the clairvoyant bound"
        f" adds boot time (docs/simulator.md): {clairvoyant}.",
        "",
        "| boot | policy | p50 s | p95 s | p99 s | max s | inst-h | / lower | / clairv. | cost"
        " | util | out/in | killed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, boot), r in results.items():
        label = LABELS.get(name, name)
        out.append(
            f"| {boot:g} s | {label} | {r.wait_p50_s:g} | {r.wait_p95_s:g} | {r.wait_p99_s:g} |"
            f" {r.wait_max_s:g} | {r.instance_hours:g} | {r.ratio_to_lower_bound:.2f} |"
            f" {r.ratio_to_clairvoyant:.2f} |"
            f" {r.cost:.2f} | {r.utilisation:.0%} | {r.scale_out_events}/{r.scale_in_events} |"
            f" {r.jobs_killed} |"
        )
    out += ["", *verdicts(results, DEFAULT_POLICY), *verdicts(results, PREVIOUS_LABEL)]
    return "\n".join(out) + "\n" + READING


def replace_section(text: str, heading: str, section: str) -> str:
    """``text`` with the section under ``heading`` (up to the next ``## ``) replaced."""
    start = text.find(heading + "\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + 1)
    tail = "" if end < 0 else text[end + 1 :]
    return text[:start] + section + ("\n" + tail if tail else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--speed-only", action="store_true", help="skip the policy figures")
    args = parser.parse_args()
    speed_row = speed(args.runs)
    print(f"speed: {speed_row}")
    year, million = year_speed(args.runs), million_speed()
    print(f"year: {year}\nmillion: {million}")
    if args.speed_only:
        return 0 if speed_row["cpu_s"] < SPEED_LIMIT_S and scale_ok(year, million) else 1
    results = figures()
    section = render(speed_row, results, args.runs, scale_lines(year, million))
    print(section)
    if args.write:
        current = DOC.read_text() if DOC.exists() else ""
        DOC.write_text(replace_section(current, "## Simulator", section))
    fast = speed_row["cpu_s"] < SPEED_LIMIT_S and speed_row["rss_mb"] < RSS_LIMIT_MB
    beats = all("beats seed on both" in line for line in verdicts(results, DEFAULT_POLICY))
    return 0 if fast and beats and scale_ok(year, million) else 1


if __name__ == "__main__":
    sys.exit(main())
