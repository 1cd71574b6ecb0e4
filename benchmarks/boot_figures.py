"""Fast starts in the simulator: each boot preset and the warm + spot pattern, per workload.

Used by ``benchmarks.bench_boot``. Workloads: the shared public trace (when ``../shared`` is
there) and the scale-1 variant of every synthetic workload family. Rows:

* ``cold``, ``baked``, ``warm (bound)``: one on-demand group, every fresh launch on that
  preset (``warm``: every launch a start from stopped, the bound of a pool never empty);
* ``baked + warm pool 2``: the same group with 2 stopped instances in a warm pool, each stopped
  instance priced at its EBS volume;
* ``warm + spot``: ``examples/warm-spot.yaml``'s pattern: a warm on-demand group of at most 4
  with 2 stopped, and a spot group (baked, spot priced, interrupted) for the rest.

Every row has the same total maximum (twice the static fleet, the simulator's default) and
the ``queue`` policy with the environment-file defaults, 4 slots, seed 0.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from runnerfleet.sim.boot_profiles import PRESETS
from runnerfleet.sim.catalog import DEFAULT_POLICY, build_policy
from runnerfleet.sim.convert import read_source
from runnerfleet.sim.engine import default_max_size, simulate
from runnerfleet.sim.families import FAMILIES, Workload
from runnerfleet.sim.model import SimConfig
from runnerfleet.sim.report import bounds, peak_running, summarize
from runnerfleet.sim.trace import Trace
from runnerfleet.sim.twogroups import Overflow, simulate_two_groups
from runnerfleet.sim.warmspot import summarize_two

REPO = Path(__file__).resolve().parents[1]
SHARED_TRACE = REPO.parent / "shared" / "traces" / "bitcoin-core-gha-2025-09.csv.gz"
PUBLIC = "shared 42-day trace"
SLOTS = 4
BOUND_BOOT_S = PRESETS["warm"].cold_s  # the clairvoyant fleet boots as fast as a warm start
PRICE = SimConfig().price_per_hour
SPOT_RATE = 0.05  # interruptions per spot instance-hour: pessimistic, to show the retries
WARM_MAX, POOL = 4, 2


@dataclass(frozen=True, slots=True)
class Row:
    preset: str
    pool: int = 0
    two_groups: bool = False  # through the two-group model (stopped EBS priced)
    spot: bool = False  # the warm group of WARM_MAX, spot overflow for the rest


ROWS = {
    "cold": Row("cold"),
    "baked": Row("baked"),
    "baked + warm pool 2": Row("baked", pool=POOL, two_groups=True),
    "warm (bound)": Row("warm"),
    "warm + spot": Row("baked", pool=POOL, two_groups=True, spot=True),
}


@dataclass(frozen=True, slots=True)
class Figure:
    wait_p95_s: float
    wait_p50_s: float
    instance_hours: float
    ratio_to_clairvoyant: float
    cost: float
    spot_instance_hours: float = 0.0
    interruptions: int = 0
    jobs_retried: int = 0


def workloads() -> list[str]:
    """The public trace first when it is there, then one variant of each family."""
    return ([PUBLIC] if SHARED_TRACE.is_file() else []) + list(FAMILIES)


def skipped() -> str | None:
    if SHARED_TRACE.is_file():
        return None
    return f"the shared trace is left out: {SHARED_TRACE.name} is not in ../shared/traces"


_TRACES: dict[str, Trace] = {}


def _trace(name: str) -> Trace:
    if name not in _TRACES:
        if name == PUBLIC:
            _TRACES[name] = read_source(SHARED_TRACE).trace
        else:
            fam = FAMILIES[name]
            seed = next(seed for seed, scale in fam.variants if scale == 1.0)
            _TRACES[name] = Workload(name, seed, 1.0, fam.params).trace()
    return _TRACES[name]


def label(name: str) -> str:
    if name == PUBLIC:
        return name
    seed = next(seed for seed, scale in FAMILIES[name].variants if scale == 1.0)
    return f"{name} (seed {seed}, x1)"


def one(job: tuple[str, str]) -> tuple[str, str, Figure]:
    name, row_label = job
    trace, row = _trace(name), ROWS[row_label]
    peak = peak_running(trace)
    top = default_max_size(math.ceil(peak / SLOTS))
    limits = bounds(trace, SLOTS, BOUND_BOOT_S)
    policy = build_policy(DEFAULT_POLICY, SLOTS, peak_running=peak)
    if not row.two_groups:
        config = SimConfig(slots=SLOTS, boot=PRESETS[row.preset], max_size=top)
        r = summarize(simulate(trace, policy, config), limits)
        return name, row_label, Figure(r.wait_p95_s, r.wait_p50_s, r.instance_hours,
                                       r.ratio_to_clairvoyant, r.cost)  # fmt: skip
    warm_max = min(WARM_MAX, top - 1) if row.spot else top
    config = SimConfig(slots=SLOTS, boot=PRESETS[row.preset], max_size=warm_max, warm_pool=row.pool)
    overflow = Overflow(
        max_size=top - warm_max, boot=PRESETS[row.preset], interruptions_per_hour=SPOT_RATE
    )
    two = summarize_two(simulate_two_groups(trace, policy, config, overflow), limits)
    r = two.result
    return name, row_label, Figure(
        r.wait_p95_s, r.wait_p50_s, r.instance_hours, r.ratio_to_clairvoyant, r.cost,
        two.spot_instance_hours, two.spot_interruptions, two.jobs_retried,
    )  # fmt: skip


def figures() -> dict[tuple[str, str], Figure]:
    """Every workload with every row, side by side on two processes."""
    jobs = [(w, row) for w in workloads() for row in ROWS]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return {(w, row): f for w, row, f in pool.map(one, jobs)}


def table(results: dict[tuple[str, str], Figure]) -> list[str]:
    out = [
        "| workload | boot, groups | p95 wait s | p50 wait s | inst-h | x clairvoyant | cost "
        "| spot inst-h | interruptions | jobs retried |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, row), f in results.items():
        out.append(
            f"| {label(name)} | {row} | {f.wait_p95_s:g} | {f.wait_p50_s:g} | "
            f"{f.instance_hours:g} | {f.ratio_to_clairvoyant:.2f} | {f.cost:.2f} | "
            f"{f.spot_instance_hours:g} | {f.interruptions} | {f.jobs_retried} |"
        )
    return out


def ratios(results: dict[tuple[str, str], Figure]) -> list[str]:
    lines = []
    for name in workloads():
        cold = results[(name, "cold")]
        parts = [
            f"{row} {results[(name, row)].wait_p95_s / cold.wait_p95_s:.2f}x"
            for row in ROWS
            if row != "cold" and cold.wait_p95_s > 0
        ]
        cost = results[(name, "warm + spot")].cost / results[(name, "baked")].cost
        lines.append(
            f"- {label(name)}: p95 wait against cold: {', '.join(parts)}; "
            f"cost of warm + spot against baked: {cost:.2f}x"
        )
    return lines
