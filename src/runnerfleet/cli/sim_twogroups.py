"""``simulate --env`` and the spot overflow group: options, the environment's fleet, the split."""

from __future__ import annotations

from pathlib import Path

import typer

from runnerfleet.cli.console import err
from runnerfleet.cli.formats import print_rows
from runnerfleet.errors import SpecError
from runnerfleet.sim.boot_profiles import load_boot_profile
from runnerfleet.sim.catalog import DEFAULT_POLICY, SimPolicy, build_policy, parse_overrides
from runnerfleet.sim.model import SimConfig
from runnerfleet.sim.report import Bounds
from runnerfleet.sim.trace import Trace
from runnerfleet.sim.twogroups import (
    SPOT_PRICE_FACTOR,
    Overflow,
    TwoGroupRun,
    simulate_two_groups,
)
from runnerfleet.sim.warmspot import EnvFleet, TwoGroupResult, env_fleet, summarize_two

ENV = typer.Option(
    None,
    "--env",
    help="Environment file: slots, the group's max and warm pool, the spot overflow group, "
    "the scaling policy and the boot preset (baked with an image: section) come from it.",
)
OVERFLOW_MAX = typer.Option(
    None,
    "--overflow-max",
    min=1,
    help="A spot group of this many instances behind the (warm, on-demand) group; "
    "--spot-rate then interrupts only its instances.",
)
OVERFLOW_BOOT = typer.Option(
    None,
    "--overflow-boot",
    help="Boot times of the spot group's fresh launches: a preset (cold, baked) or a CSV "
    "[the group's fresh boot: baked with an image: section, else --boot].",
)
SPOT_PRICE = typer.Option(
    None,
    "--spot-price",
    min=0.0,
    help="Spot price per instance-hour [a third of --price].",
)


def load_env_fleet(path: Path, *, slots: int, max_size: int | None, warm_pool: int) -> EnvFleet:
    """The fleet of the environment file ``path``; flags it would override are refused."""
    from runnerfleet.envfile import load_environment
    from runnerfleet.stack.wiring import scaling_settings

    given = [
        f"{flag} (the file's {key})"
        for flag, key, set_ in (
            ("--slots", "runner.concurrent", slots != 4),
            ("--max-size", "capacity.max", max_size is not None),
            ("--warm-pool", "capacity.warm_pool", warm_pool != 0),
        )
        if set_
    ]
    if given:
        raise SpecError(
            f"--env {path} sets what these flags would: {', '.join(given)}",
            hint="change the environment file, or drop --env and give the flags",
        )
    spec = load_environment(path)
    return env_fleet(spec, scaling_settings(spec))


def choose_policies(
    names: list[str] | None,
    fleet: EnvFleet | None,
    sets: list[str] | None,
    slots: int,
    peak: int,
    *,
    two_groups: bool = False,
) -> list[SimPolicy]:
    """The environment's own policy (with --env and no --policy), else the named ones; the
    default list leaves out ``static`` for two groups (nothing would scale them)."""
    if fleet is not None and not names:
        if sets:
            raise SpecError("--set changes a named policy", hint="give --policy NAME with --set")
        return [fleet.policy]
    overrides = parse_overrides(sets or [])
    chosen = names or ["seed", DEFAULT_POLICY, *([] if two_groups else ["static"])]
    return [
        build_policy(name, slots, overrides.get(name), peak_running=peak)
        for name in dict.fromkeys(chosen)
    ]


def overflow_group(
    config: SimConfig,
    maximum: int,
    boot: str | None,
    spot_rate: float,
    spot_price: float | None,
) -> Overflow:
    price = config.price_per_hour * SPOT_PRICE_FACTOR if spot_price is None else spot_price
    profile = load_boot_profile(boot) if boot else config.boot
    return Overflow(
        max_size=maximum, boot=profile, interruptions_per_hour=spot_rate, price_per_hour=price
    )


def run_two_groups(
    data: Trace,
    policies: list[SimPolicy],
    config: SimConfig,
    overflow: Overflow,
    limits: Bounds,
) -> tuple[list[TwoGroupRun], list[TwoGroupResult]]:
    """Each policy's run over the two groups, and its results."""
    runs = []
    for policy in policies:
        err.print(f"simulating {policy.label}, warm group + spot overflow, {len(data)} jobs ...")
        runs.append(simulate_two_groups(data, policy, config, overflow))
    return runs, [summarize_two(run, limits) for run in runs]


def split_table(results: list[TwoGroupResult]) -> None:
    heads = ("policy", "warm inst-h", "spot inst-h", "stopped h", "spot launches",
             "interruptions", "jobs retried", "jobs lost")  # fmt: skip
    rows = [
        [
            r.result.policy,
            f"{r.warm_instance_hours:.1f}",
            f"{r.spot_instance_hours:.1f}",
            f"{r.stopped_instance_hours:.1f}",
            str(r.spot_launches),
            str(r.spot_interruptions),
            str(r.jobs_retried),
            str(r.jobs_lost),
        ]
        for r in results
    ]
    print_rows("the two groups (cost: on-demand, spot and stopped EBS priced apart)", heads, rows)
