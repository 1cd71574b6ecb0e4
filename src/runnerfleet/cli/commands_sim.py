"""Simulator commands: simulate, tune, trace convert, trace synth. Parse, call, render."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import typer
from rich.markup import escape

from runnerfleet.cli.console import err, out
from runnerfleet.cli.formats import print_rows
from runnerfleet.cli.sim_twogroups import (
    ENV,
    OVERFLOW_BOOT,
    OVERFLOW_MAX,
    SPOT_PRICE,
    choose_policies,
    load_env_fleet,
    overflow_group,
    run_two_groups,
    split_table,
)
from runnerfleet.errors import SpecError
from runnerfleet.sim.boot_profiles import load_boot_profile
from runnerfleet.sim.catalog import (
    DEFAULT_POLICY,
    SIM_POLICY_NAMES,
)
from runnerfleet.sim.engine import simulate as run_simulation
from runnerfleet.sim.model import BootProfile, SimConfig, SimRun
from runnerfleet.sim.report import PolicyResult, bounds, peak_running, summarize
from runnerfleet.sim.trace import Trace, load_trace
from runnerfleet.sim.twogroups import TwoGroupRun
from runnerfleet.sim.warmspot import TwoGroupResult


def finite(minimum: float, *, above: bool = False) -> Callable[[float | None], float | None]:
    """A typer callback refusing nan, infinities and values below ``minimum`` (or at it)."""

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        low = value <= minimum if above else value < minimum
        if not math.isfinite(value) or low:
            bound = f"above {minimum:g}" if above else f"{minimum:g} or more"
            raise typer.BadParameter(f"{value:g} is not a finite number {bound}")
        return value

    return check


def writable_folder(value: Path | None) -> Path | None:
    """A folder to write into: refused at once when a file is in the way."""
    if value is not None and value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file; give a folder (it is created if missing)")
    return value


TRACE = typer.Option(..., "--trace", help="Trace CSV (.csv or .csv.gz); see docs/simulator.md.")
SLOTS = typer.Option(4, "--slots", min=1, help="Job slots per instance (runner `concurrent`).")
BOOT = typer.Option(
    180.0, "--boot", callback=finite(0), help="Median boot time of a fresh instance, seconds."
)
WARM_BOOT = typer.Option(
    30.0, "--warm-boot", callback=finite(0), help="Boot time out of the warm pool, seconds."
)
BOOT_PROFILE = typer.Option(
    None,
    "--boot-profile",
    help="Boot times: a preset (cold, baked, warm) or a CSV of measured boots "
    "(seconds,warm_start); replaces --boot and --warm-boot.",
)
WARM_POOL = typer.Option(0, "--warm-pool", min=0, help="Stopped instances kept in a warm pool.")
CHECK = typer.Option(
    3.0, "--check-interval", callback=finite(0, above=True), help="Runner job polling, seconds."
)
TICK = typer.Option(
    60.0, "--tick", callback=finite(0, above=True), help="Autoscaler schedule, seconds."
)
WEBHOOK = typer.Option(
    None,
    "--webhook-delay",
    callback=finite(0),
    help="Also evaluate this many seconds after a job is queued.",
)
SPOT = typer.Option(
    0.0, "--spot-rate", callback=finite(0), help="Spot interruptions per instance-hour."
)
MAX_SIZE = typer.Option(
    None, "--max-size", min=1, help="Group MaxSize (default: 2x the static fleet)."
)
PRICE = typer.Option(
    0.0416, "--price", callback=finite(0), help="Price per instance-hour (default t3.medium)."
)
SEED = typer.Option(0, "--seed", help="Random seed: same seed, same results.")
SETS = typer.Option(
    None, "--set", help="Policy parameter, POLICY.KEY=VALUE, e.g. queue.idle_count=4 (repeat)."
)

POLICIES = typer.Option(
    None,
    "--policy",
    help=f"Policy to compare (repeat): {', '.join(SIM_POLICY_NAMES)} "
    "[seed, queue and static; with --env the file's own].",
)

trace_app = typer.Typer(
    name="trace", help="Prepare workload traces for the simulator.", no_args_is_help=True
)


def _config(**kw: object) -> SimConfig:
    boot = BootProfile(cold_s=float(kw.pop("boot")), warm_s=float(kw.pop("warm_boot")))  # type: ignore[arg-type]
    profile = kw.pop("boot_profile", None)
    if profile is not None:
        boot = load_boot_profile(str(profile))
    return SimConfig(boot=boot, **kw)  # type: ignore[arg-type]


def simulate(
    trace: Path = TRACE,
    slots: int = SLOTS,
    boot: float = BOOT,
    policy: list[str] | None = POLICIES,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per policy, per line."),
    plots: Path | None = typer.Option(
        None, "--plots", callback=writable_folder, help="Write PNG plots into this folder."
    ),
    price: float = PRICE,
    warm_boot: float = WARM_BOOT,
    warm_pool: int = WARM_POOL,
    check_interval: float = CHECK,
    tick: float = TICK,
    webhook_delay: float | None = WEBHOOK,
    spot_rate: float = SPOT,
    max_size: int | None = MAX_SIZE,
    seed: int = SEED,
    sets: list[str] | None = SETS,
    boot_profile: str | None = BOOT_PROFILE,
    env: Path | None = ENV,
    overflow_max: int | None = OVERFLOW_MAX,
    overflow_boot: str | None = OVERFLOW_BOOT,
    spot_price: float | None = SPOT_PRICE,
) -> None:
    """Replay a CI trace through scaling policies and compare wait against cost.

    Every policy runs the same decide() as the autoscaler Lambda, against a model of the
    Auto Scaling group (lifecycle hooks, drain, per-second billing with a 60 s minimum).
    The lower bound is perfect packing with zero wait: integral of ceil(running / slots);
    the clairvoyant bound adds what boot time costs a scheduler that knows every arrival.

    With --env (or --overflow-max) a warm on-demand group and a spot overflow group run
    under one autoscaler, as capacity.overflow deploys them (docs/simulator.md).

    Examples:

      runnerfleet trace convert ../shared/traces/bitcoin-core-gha-2025-09.csv.gz bc.csv.gz

      runnerfleet simulate --trace bc.csv.gz --slots 4 --boot 180 --policy seed --policy queue

      runnerfleet simulate --trace bc.csv.gz --policy queue --set queue.idle_count=4 --json

      runnerfleet simulate --trace bc.csv.gz --env examples/warm-spot.yaml --spot-rate 0.05
    """
    data = _load(trace)
    fleet = None
    retry = True
    if env is not None:
        fleet = load_env_fleet(env, slots=slots, max_size=max_size, warm_pool=warm_pool)
        slots, max_size, warm_pool = fleet.slots, fleet.max_size, fleet.warm_pool
        overflow_max = overflow_max or fleet.overflow_max
        boot_profile, retry = boot_profile or fleet.boot, fleet.retry_lost_jobs
    two = overflow_max is not None
    config = _config(
        slots=slots, boot=boot, warm_boot=warm_boot, warm_pool=warm_pool,
        check_interval_s=check_interval, tick_s=tick, webhook_delay_s=webhook_delay,
        spot_interruptions_per_hour=0.0 if two else spot_rate, max_size=max_size,
        price_per_hour=price, seed=seed, record_timeline=plots is not None,
        boot_profile=boot_profile, retry_lost_jobs=retry,
    )  # fmt: skip
    policies = choose_policies(policy, fleet, sets, slots, peak_running(data), two_groups=two)
    limits = bounds(data, slots, config.boot.cold_s)
    if overflow_max is not None:
        spot = overflow_group(config, overflow_max, overflow_boot, spot_rate, spot_price)
        pairs, split = run_two_groups(data, policies, config, spot, limits)
        _show(split, as_json, trace, slots, boot_profile, boot, two=True)
        if plots is not None:
            _write_plots(plots, data, pairs, [r.result for r in split], slots)
        return
    runs = []
    for sim_policy in policies:
        err.print(f"simulating {sim_policy.label} over {len(data)} jobs ...")
        runs.append(run_simulation(data, sim_policy, config))
    results = [summarize(run, limits) for run in runs]
    _show(results, as_json, trace, slots, boot_profile, boot)
    if plots is not None:
        _write_plots(plots, data, runs, results, slots)


def _show(
    results: Sequence[PolicyResult | TwoGroupResult],
    as_json: bool,
    trace: Path,
    slots: int,
    boot_profile: str | None,
    boot: float,
    *,
    two: bool = False,
) -> None:
    if as_json:
        for r in results:
            out.print(json.dumps(r.as_dict(), sort_keys=True), soft_wrap=True)
        return
    booting = f"boot profile {boot_profile}" if boot_profile else f"boot {boot:g} s"
    plain = [r.result if isinstance(r, TwoGroupResult) else r for r in results]
    results_table(plain, f"{trace.name}: {slots} slots, {booting}")
    if two:
        split_table([r for r in results if isinstance(r, TwoGroupResult)])


def _write_plots(
    folder: Path,
    data: Trace,
    runs: Sequence[SimRun] | Sequence[TwoGroupRun],
    results: list[PolicyResult],
    slots: int,
) -> None:
    from runnerfleet.sim.plots import plot_runs, plot_tradeoff

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"--plots: cannot create {folder}: {exc.strerror}",
                        hint="give a folder you can write to") from exc  # fmt: skip
    a = plot_runs(data, runs, slots, folder / "fleet-vs-demand.png")
    b = plot_tradeoff(results, folder / "wait-vs-cost.png")
    err.print(f"plots: {a} {b}")


def results_table(results: list[PolicyResult], title: str, names: list[str] | None = None) -> None:
    """One row per result, named by its policy or by ``names`` (the workloads); a table on a
    terminal, plain rows in a CI log (``cli.formats.print_rows``)."""
    first = "policy" if names is None else "workload"
    heads = (first, "jobs", "wait p50", "p95", "p99", "max", "inst-h", "lower", "x lower",
             "clairv.", "x clairv.", "cost", "util", "out/in", "killed")  # fmt: skip
    rows = [
        [
            name,
            str(r.jobs),
            *(f"{v:.0f}s" for v in (r.wait_p50_s, r.wait_p95_s, r.wait_p99_s, r.wait_max_s)),
            f"{r.instance_hours:.0f}",
            f"{r.lower_bound_instance_hours:.0f}",
            f"{r.ratio_to_lower_bound:.2f}",
            f"{r.clairvoyant_instance_hours:.0f}",
            f"{r.ratio_to_clairvoyant:.2f}",
            f"{r.cost:.2f}",
            f"{r.utilisation:.0%}",
            f"{r.scale_out_events}/{r.scale_in_events}",
            str(r.jobs_killed),
        ]
        for r, name in zip(results, names or [r.policy for r in results], strict=True)
    ]
    print_rows(title, heads, rows)


def tune(
    trace: list[Path] | None = typer.Option(
        None, "--trace", help="Trace CSV to tune on (repeat for several)."
    ),
    family: list[str] | None = typer.Option(
        None, "--family", help="Workload family to tune on, every variant (repeat)."
    ),
    policy: str = typer.Option(DEFAULT_POLICY, "--policy", help="Policy to tune."),
    target_p95: float = typer.Option(
        ..., "--target-p95", callback=finite(0, above=True), help="p95 queue wait to meet, s."
    ),
    slots: int = SLOTS,
    boot: float = BOOT,
    max_evals: int = typer.Option(36, "--max-evals", min=1, help="Settings to try."),
    workers: int = typer.Option(2, "--workers", min=1, help="Simulations in parallel."),
    price: float = PRICE,
    warm_boot: float = WARM_BOOT,
    warm_pool: int = WARM_POOL,
    check_interval: float = CHECK,
    tick: float = TICK,
    max_size: int | None = MAX_SIZE,
    seed: int = SEED,
    boot_profile: str | None = BOOT_PROFILE,
) -> int:
    """Find the cheapest parameters of a policy that meet a p95 queue-wait target.

    The target must hold on every trace and every variant of every family given; the cost
    that counts is the worst instance-hours relative to the clairvoyant bound. Successive
    halving: all settings on the first ninth of each trace, the best third on the first
    third, the best third of those on the whole traces.

    Prints the best result and the `scaling:` snippet for the environment file.
    Exit code 1 when no setting met the target (the closest one is shown).

    Example: runnerfleet tune --trace bc.csv.gz --family batch --target-p95 200 --boot 180
    """
    from runnerfleet.sim.families import chosen
    from runnerfleet.sim.tune import Trial, env_snippet, label
    from runnerfleet.sim.tune import tune as search

    if not trace and not family:
        raise SpecError("nothing to tune on", hint="give --trace FILE and/or --family NAME")
    found = chosen([(p.name, _load(p)) for p in trace or []], family or [])
    config = _config(
        slots=slots, boot=boot, warm_boot=warm_boot, warm_pool=warm_pool,
        check_interval_s=check_interval, tick_s=tick, max_size=max_size,
        price_per_hour=price, seed=seed, boot_profile=boot_profile,
    )  # fmt: skip

    def progress(t: Trial) -> None:
        wait = max(r.wait_p95_s for r in t.results)
        cost = max(r.ratio_to_clairvoyant for r in t.results)
        err.print(f"  {t.fraction:.0%} of each trace, {escape(label(policy, t.params))}:"
                  f" worst p95 {wait:.0f}s, worst {cost:.2f}x clairvoyant")  # fmt: skip

    outcome = search(found, policy, config, target_p95, max_evals=max_evals, workers=workers,
                     progress=progress)  # fmt: skip
    title = f"best of {outcome.settings} settings, on each workload"
    results_table(outcome.best, title, [w.label for w in found])
    if not outcome.met:
        err.print(f"[yellow]no setting met p95 <= {target_p95:g}s; the closest is shown[/]")
    out.print(env_snippet(policy, outcome.params), markup=False)
    return 0 if outcome.met else 1


@trace_app.command("convert")
def trace_convert(
    src: Path = typer.Argument(..., help="The shared CI trace (csv or csv.gz)."),
    dst: Path = typer.Argument(..., help="Output trace; .gz compresses."),
) -> None:
    """Convert the shared CI trace to the simulator's format.

    arrival = started_ts, duration = completed_ts - started_ts, pipeline_id = run_id.

    Example: runnerfleet trace convert ../shared/traces/bitcoin-core-gha-2025-09.csv.gz bc.csv.gz
    """
    from runnerfleet.sim.convert import convert_file

    result = convert_file(src, dst)
    out.print(
        f"wrote {dst}: {len(result.trace)} jobs of {result.read} read, "
        f"{result.skipped_negative} skipped (completed before started), "
        f"{result.trace.job_seconds / 3600:.0f} job-hours"
    )


@trace_app.command("synth")
def trace_synth(
    dst: Path = typer.Argument(..., help="Output trace; .gz compresses."),
    days: float | None = typer.Option(
        None,
        "--days",
        callback=finite(0, above=True),
        help="Length of the workload (default: the family's, else 14).",
    ),
    seed: int = typer.Option(0, "--seed", help="Same seed, same trace."),
    calibrate_from: Path | None = typer.Option(
        None, "--calibrate", help="Measure the parameters on this trace first."
    ),
    scale: float = typer.Option(
        1.0, "--scale", callback=finite(0, above=True), help="Multiply the pipeline rate."
    ),
    family_name: str | None = typer.Option(
        None, "--family", help="A named workload family (docs/simulator.md), e.g. batch."
    ),
) -> None:
    """Generate a synthetic workload: diurnal, pipelines as bursts, heavy-tailed durations.

    Defaults are calibrated on the shared bitcoin-core trace (docs/simulator.md); --family
    takes one of the named shapes instead: matrix, long-pipelines, batch, hpc, year, weekly.

    Example: runnerfleet trace synth demo.csv.gz --days 7 --seed 1
    """
    from runnerfleet.sim.families import synth_base
    from runnerfleet.sim.synthetic import calibrate, generate, scaled
    from runnerfleet.sim.trace import write_trace

    calibrated = calibrate(_load(calibrate_from)) if calibrate_from else None
    params = scaled(synth_base(family_name, calibrated), days=days, scale=scale)
    data = generate(params, seed=seed)
    write_trace(dst, data)
    out.print(f"wrote {dst}: {len(data)} jobs over {params.days:g} days, seed {seed}")


def _load(path: Path) -> Trace:
    return load_trace(path)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    app.command("tune")(tune)
    app.add_typer(trace_app)
