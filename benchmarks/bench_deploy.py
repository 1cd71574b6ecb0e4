"""Deploy figures: a no-op `runnerfleet deploy` on the sandbox, beside `validate`, `--help`
and a bare interpreter.

    .venv/bin/python -m benchmarks.bench_deploy [--runs 5]

Each figure is the median wall time of N fresh processes (CLI start-up included), the
commands interleaved round by round so that a busy machine slows all of them alike. The no-op
deploy is `runnerfleet deploy examples/dev.yaml --sandbox --yes` a second time, registrations
included (the plan keeps both runners in the GitLab stand-in), against a sandbox twin this
benchmark starts in a temporary RUNNERFLEET_HOME and always stops; the rounds begin once the
group's instance is in service. Also timed in-process: the engine's no-op path alone
(package, upload check, compare) without start-up. Prints the load average beside the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "examples" / "dev.yaml"
CLI = [sys.executable, "-m", "runnerfleet.cli.main"]


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - started


def rounds(runs: int, cases: dict[str, list[str]], env: dict[str, str]) -> dict[str, list[float]]:
    """Seconds per case; every round runs every case once, in the same order."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, argv in cases.items():
            samples[name].append(timed(argv, env))
    return samples


def settled(env: dict[str, str], timeout_s: float = 180.0) -> None:
    """Wait (bounded) until the deployed group has its desired instances in service."""
    from runnerfleet.aws.clients import AwsTarget, ClientFactory
    from runnerfleet.sandbox import state

    running = state.require_running()
    asg = ClientFactory(AwsTarget(region=running.region, endpoint_url=running.endpoint)).client(
        "autoscaling"
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        groups = asg.describe_auto_scaling_groups()["AutoScalingGroups"]
        if groups and all(
            sum(i["LifecycleState"] == "InService" for i in g["Instances"]) == g["DesiredCapacity"]
            for g in groups
        ):
            return
        time.sleep(1)
    raise SystemExit("the deployed group did not settle in time")


def engine_noop(runs: int) -> float:
    """The engine alone, in this process: prepare + execute of an unchanged stack."""
    from runnerfleet.aws.artifacts import build_zip
    from runnerfleet.cli.compose import sandbox_target
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.deploy import Settings, execute, fleet_synthesizer, prepare
    from runnerfleet.ops.ports import SilentReporter
    from runnerfleet.sandbox import emulator, state

    running = state.require_running()
    spec = emulator.sandbox_spec(load_environment(DEV), running)
    target = sandbox_target(running)
    quiet = SilentReporter()

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        item = prepare(
            spec,
            target,
            synth=fleet_synthesizer(),
            code=build_zip(),
            reporter=quiet,
            settings=Settings(),
        )
        assert execute(item, quiet).outcome == "no changes"
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    deploy = [*CLI, "deploy", str(DEV), "--sandbox", "--yes"]
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "runnerfleet --help": [*CLI, "--help"],
        "runnerfleet validate examples/dev.yaml": [*CLI, "validate", str(DEV)],
        "no-op runnerfleet deploy examples/dev.yaml --sandbox --yes": deploy,
    }
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "RUNNERFLEET_HOME": home}
        os.environ["RUNNERFLEET_HOME"] = home
        subprocess.run([*CLI, "sandbox", "start"], env=env, check=True, capture_output=True)
        try:
            subprocess.run(deploy, env=env, check=True, capture_output=True, timeout=300)
            settled(env)
            samples = rounds(runs, cases, env)
            engine = engine_noop(runs)
        finally:
            subprocess.run([*CLI, "sandbox", "stop"], env=env, check=False, capture_output=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["python -c pass"]
    print(f"{runs} rounds; load average (1, 5, 15 min) after: {load}")
    print("| command | median s | x bare python | runs (s) |")
    print("|---|---|---|---|")
    for name, value in medians.items():
        print(f"| `{name}` | {value:.3f} | {value / base:.1f} | {_fmt(samples[name])} |")
    print(f"| the engine's no-op path alone, in-process | {engine:.3f} | | |")
    noop = medians["no-op runnerfleet deploy examples/dev.yaml --sandbox --yes"]
    print(
        f"no-op deploy / validate: {noop / medians['runnerfleet validate examples/dev.yaml']:.2f}"
    )
    return 0


def _fmt(samples: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in samples)


if __name__ == "__main__":
    raise SystemExit(main())
