"""Fast starts: what the boot profile does to the wait, and what the bootstrap runs per image.

Run: .venv/bin/python -m benchmarks.bench_boot [--write]

1. The simulator, ``queue`` policy with the environment-file defaults, 4 slots, seed 0, on the
   shared 42-day trace and on three synthetic families (the generator calibrated on that
   trace at 1x, 3x and 0.3x its pipeline rate, 14 days each), with the boot profiles
   ``cold``, ``baked``, ``baked`` plus a warm pool of 2 stopped instances, and ``warm`` (every
   launch a start from stopped: the bound). All runs side by side in one process pool.
2. The rendered bootstrap on the test harness's pretend instance (stub commands, IMDSv2
   stand-in on 127.0.0.1): once on a plain image, once on one the image's bake script
   prepared; which actions each step took, and the shell's own time (median of 5 boots).

``--write`` replaces the ``## Fast starts`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from tests.instance.harness import (
    Instance,
    machine_arch,
    make_instance,
    runner_download,
    serve_imds,
)

from benchmarks.bench_instance import settings as boot_settings
from benchmarks.timing import replace_section
from runnerfleet.sim.boot_profiles import PRESETS
from runnerfleet.sim.catalog import DEFAULT_POLICY, build_policy
from runnerfleet.sim.convert import read_source
from runnerfleet.sim.engine import simulate
from runnerfleet.sim.model import SimConfig
from runnerfleet.sim.report import PolicyResult, lower_bound_seconds, peak_running, summarize
from runnerfleet.sim.synthetic import SynthParams, generate
from runnerfleet.sim.trace import Trace
from runnerfleet.stack.bootstrap import render_user_data
from runnerfleet.stack.image_bake import BakeSettings, render_bake_script

REPO = Path(__file__).resolve().parents[1]
SHARED_TRACE = REPO.parent / "shared" / "traces" / "bitcoin-core-gha-2025-09.csv.gz"
DOC = REPO / "docs" / "benchmarks.md"
SECTION = "## Fast starts"
SLOTS = 4
TRACES = ("shared 42-day trace", "synthetic 1x", "synthetic 3x", "synthetic 0.3x")
# label: (preset, warm pool size)
PROFILES = {
    "cold": ("cold", 0),
    "baked": ("baked", 0),
    "baked + warm pool 2": ("baked", 2),
    "warm (bound)": ("warm", 0),
}
BOOT_RUNS = 5
BOOT_STEPS = ("logging", "docker", "runner-binary", "register", "verify", "signal")
WORDS = ("install", "skipping", "registered", "accepted", "completed")  # log lines to show

READING = """Reading the figures:
- The p95 wait follows the boot time: a burst needs fresh instances whatever the policy keeps
  idle, so p95 is about one boot plus up to one autoscaler tick. Baking cuts it to under half
  on every workload; the warm pool's two stopped instances take the first wave of a burst, and
  the rest still boots baked.
- Instance-hours barely move (within 4 %): a shorter boot bills fewer booting minutes, and the
  simulator bills stopped warm-pool instances nothing; on AWS each one costs its EBS volume.
- The presets are estimates from public measurements; measured boots (the `BootSeconds` metric,
  `--boot-profile FILE`) replace them."""

_TRACES: dict[str, Trace] = {}


def _trace(name: str) -> Trace:
    if name not in _TRACES:
        if name == TRACES[0]:
            _TRACES[name] = read_source(SHARED_TRACE).trace
        else:
            scale = float(name.split()[1].rstrip("x"))
            base = SynthParams(days=14)
            params = replace(base, pipelines_per_weekday=base.pipelines_per_weekday * scale)
            _TRACES[name] = generate(params, seed=0)
    return _TRACES[name]


def one(job: tuple[str, str]) -> tuple[str, str, PolicyResult]:
    trace_name, label = job
    trace = _trace(trace_name)
    preset, pool = PROFILES[label]
    config = SimConfig(slots=SLOTS, boot=PRESETS[preset], warm_pool=pool)
    policy = build_policy(DEFAULT_POLICY, SLOTS, peak_running=peak_running(trace))
    run = simulate(trace, policy, config)
    return trace_name, label, summarize(run, lower_bound_seconds(trace, SLOTS))


def figures() -> dict[tuple[str, str], PolicyResult]:
    jobs = [(t, p) for t in TRACES for p in PROFILES]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return {(t, p): r for t, p, r in pool.map(one, jobs)}


@contextlib.contextmanager
def _instance() -> Iterator[tuple[Instance, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        for imds in serve_imds():
            instance = make_instance(Path(tmp), imds)
            instance.put_ssm("/runnerfleet/rf-bench/runners/ci-0", "glrt-bench_TOKEN_0000")
            yield instance, Path(tmp)


def _boot_once(baked: bool) -> tuple[float, list[list[str]], str]:
    with _instance() as (instance, tmp):
        url, digest = runner_download(tmp)
        if baked:
            _bake(instance, BakeSettings(
                "runner", "17.11.1", digest, True, ("cloudwatch", "ssm"),
                ("registry.gitlab.com/acme/job:2026.11",), True, machine_arch(), url,
            ))  # fmt: skip
        mark = len(instance.calls())
        script = render_user_data(boot_settings(url, digest, 1))
        started = time.perf_counter()
        result = instance.run(script)
        elapsed = (time.perf_counter() - started) * 1000
        assert result.returncode == 0, result.stderr[-2000:]
        return elapsed, instance.calls()[mark:], result.stdout + result.stderr


def _bake(instance: Instance, bake: BakeSettings) -> None:
    path = instance.stub_dir / "bake.sh"
    path.write_text(render_bake_script(bake))
    subprocess.run(["bash", str(path), "bake"], env=instance.env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip


def boots() -> dict[str, tuple[float, list[list[str]], str]]:
    out = {}
    for kind in ("cold", "baked"):
        runs = [_boot_once(kind == "baked") for _ in range(BOOT_RUNS)]
        out[kind] = (statistics.median(r[0] for r in runs), runs[0][1], runs[0][2])
    return out


def _actions(log: str, step: str) -> str:
    """What one step did on the pretend instance, from its lines in the bootstrap log."""
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith(f"step: {step}"))
    end = next((i for i in range(start + 1, len(lines)) if ": step: " in lines[i]), len(lines))
    said = [line.split(": ", 1)[-1] for line in lines[start + 1 : end]]
    keep = [s for s in said if any(w in s for w in WORDS)]
    return "; ".join(keep) or "-"


def render(results: dict[tuple[str, str], PolicyResult],
           boot_rows: dict[str, tuple[float, list[list[str]], str]]) -> str:  # fmt: skip
    out = [
        SECTION,
        "",
        "Command: `.venv/bin/python -m benchmarks.bench_boot --write` (machine load average "
        f"{os.getloadavg()[0]:.1f} on 2 cores).",
        "",
        f"Simulator: `{DEFAULT_POLICY}` policy with the environment-file defaults, 4 slots, "
        "seed 0; boot profiles from `runnerfleet.sim.boot_profiles` (cold 180 s, baked 60 s, "
        "warm 30 s; sources in docs/simulator.md). The bound is the clairvoyant fleet "
        "(integral of ceil(running / 4), zero wait).",
        "",
        "| trace | boot profile | p95 wait s | p50 wait s | inst-h | / bound | cost |",
        "|---|---|---|---|---|---|---|",
    ]
    for (trace, label), r in results.items():
        out.append(
            f"| {trace} | {label} | {r.wait_p95_s:g} | {r.wait_p50_s:g} | "
            f"{r.instance_hours:g} | {r.ratio_to_lower_bound:.2f} | {r.cost:.2f} |"
        )
    out += ["", *_ratios(results), "", READING, "", *_boot_table(boot_rows)]
    return "\n".join(out) + "\n"


def _ratios(results: dict[tuple[str, str], PolicyResult]) -> list[str]:
    lines = []
    for trace in TRACES:
        cold = results[(trace, "cold")]
        parts = [
            f"{label} {results[(trace, label)].wait_p95_s / cold.wait_p95_s:.2f}x"
            for label in PROFILES
            if label != "cold"
        ]
        lines.append(f"- {trace}: p95 wait against cold: " + ", ".join(parts))
    return lines


def _boot_table(rows: dict[str, tuple[float, list[list[str]], str]]) -> list[str]:
    out = [
        f"Bootstrap on the pretend instance, 1 registration (median of {BOOT_RUNS} boots: "
        f"cold {rows['cold'][0]:.0f} ms, baked {rows['baked'][0]:.0f} ms of our own shell; on "
        "a real instance the difference is dnf, the download and the first pull):",
        "",
        "| step | plain image (cold) | baked image |",
        "|---|---|---|",
    ]
    for step in BOOT_STEPS:
        cold, baked = _actions(rows["cold"][2], step), _actions(rows["baked"][2], step)
        out.append(f"| `{step}` | {cold} | {baked} |")
    dnf = {k: sum(1 for c in v[1] if c[0] == "dnf") for k, v in rows.items()}
    out += ["", f"dnf calls during the boot: cold {dnf['cold']}, baked {dnf['baked']}."]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    boot_rows = boots()
    results = figures()
    section = render(results, boot_rows)
    print(section)
    if args.write:
        DOC.write_text(replace_section(DOC.read_text(), section))
    ordered = all(
        results[(t, "warm (bound)")].wait_p95_s <= results[(t, "cold")].wait_p95_s for t in TRACES
    )
    return 0 if ordered else 1


if __name__ == "__main__":
    sys.exit(main())
