"""Deploy figures: `runnerfleet validate` and a no-op `runnerfleet deploy` on the sandbox.

    .venv/bin/python -m benchmarks.bench_deploy [--runs 5]

Each figure is the median wall time of N runs of the real command (a fresh process each time,
so CLI start-up is included), measured side by side in one run. The no-op deploy runs against
a sandbox this benchmark starts in a temporary RUNNERFLEET_HOME and always stops. Also timed
in-process: the engine's no-op path alone (package, upload check, compare) without start-up.
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
    subprocess.run([*CLI, *args], env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - started


def median_of(runs: int, args: list[str], env: dict[str, str]) -> tuple[float, list[float]]:
    samples = [timed(args, env) for _ in range(runs)]
    return statistics.median(samples), samples


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
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "RUNNERFLEET_HOME": home}
        os.environ["RUNNERFLEET_HOME"] = home
        startup, s_samples = median_of(runs, ["--help"], env)
        validate, v_samples = median_of(runs, ["validate", str(DEV)], env)
        subprocess.run([*CLI, "sandbox", "start"], env=env, check=True, capture_output=True)
        try:
            deploy = ["deploy", str(DEV), "--sandbox", "--yes", "--skip-registrations"]
            subprocess.run([*CLI, *deploy], env=env, check=True, capture_output=True)
            noop, n_samples = median_of(runs, deploy, env)
            engine = engine_noop(runs)
        finally:
            subprocess.run([*CLI, "sandbox", "stop"], env=env, check=False, capture_output=True)
    print(f"runnerfleet --help:         median {startup:.2f} s of {runs} ({_fmt(s_samples)})")
    print(f"validate examples/dev.yaml: median {validate:.2f} s of {runs} ({_fmt(v_samples)})")
    print(f"no-op deploy (sandbox):     median {noop:.2f} s of {runs} ({_fmt(n_samples)})")
    print(f"  engine alone, in-process: median {engine:.3f} s of {runs}")
    print(f"  ratio no-op deploy / validate: {noop / validate:.2f}")
    return 0


def _fmt(samples: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in samples)


if __name__ == "__main__":
    raise SystemExit(main())
