"""Fast starts: what the boot profile and the warm + spot pattern do, and what the bootstrap runs.

Run: .venv/bin/python -m benchmarks.bench_boot [--write]

1. The simulator (``benchmarks.boot_figures``): the shared 42-day trace (left out, with the
   reason, when ../shared is absent) and one variant of every synthetic workload family, each
   with the boot presets ``cold``, ``baked``, ``baked`` plus a warm pool of 2, ``warm`` (the
   bound) and the warm on-demand group plus spot overflow. All runs side by side in one
   process pool.
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
from pathlib import Path

from tests.instance.harness import (
    Instance,
    machine_arch,
    make_instance,
    runner_download,
    serve_imds,
)

from benchmarks.bench_instance import settings as boot_settings
from benchmarks.boot_figures import (
    BOUND_BOOT_S,
    POOL,
    PRICE,
    SLOTS,
    SPOT_RATE,
    WARM_MAX,
    Figure,
    figures,
    ratios,
    skipped,
    table,
    workloads,
)
from benchmarks.timing import replace_section
from runnerfleet.sim.catalog import DEFAULT_POLICY
from runnerfleet.sim.twogroups import EBS_PER_HOUR
from runnerfleet.stack.bootstrap import render_user_data
from runnerfleet.stack.image_bake import BakeSettings, render_bake_script

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
SECTION = "## Fast starts"
BOOT_RUNS = 5
BOOT_STEPS = ("logging", "docker", "runner-binary", "register", "verify", "signal")
WORDS = ("install", "skipping", "registered", "accepted", "completed")  # log lines to show

READING = """Reading the figures:
- The p95 wait follows the boot time: a burst needs fresh instances whatever the policy keeps
  idle, so p95 is about one boot plus up to one autoscaler tick. Baking cuts it to under half
  of cold on every bursty workload (0.38x-0.46x). Long-pipelines waits 84 s cold and 3 s
  baked (one boot at a pipeline's start); batch barely waits (a steady stream keeps instances
  up).
- Two stopped instances take the first wave of a burst: the pool comes within 10 s of the
  warm bound. Warm + spot waits a little longer than the pool alone, because capacity
  beyond the warm group's 4 boots fresh (baked) in the spot group.
- Cost: a stopped instance pays its EBS volume around the clock (2 x 0.011 USD/h), 18-43 %
  on top of these fleets' bills; the spot group pays it back where bursts go
  beyond the warm group: on the shared trace and matrix, warm + spot costs 0.94x of baked
  all on-demand, pool included; on hpc and year it pays back most of it (1.10x, 1.05x).
  Where the load fits in the warm group (long-pipelines, batch) no spot instance starts and
  the row is the pool's. Running instances' EBS is left out of
  every row alike. Size the pool with `runnerfleet simulate --env FILE` on your own trace.
- Spot interruptions (0.05 per instance-hour, pessimistic) kill the jobs on the instance;
  with `drain.retry_lost_jobs` every one is retried (`jobs retried`), none lost.
- The presets are estimates from public measurements; measured boots (the `BootSeconds` metric,
  `--boot-profile FILE`) replace them."""


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


def render(results: dict[tuple[str, str], Figure],
           boot_rows: dict[str, tuple[float, list[list[str]], str]]) -> str:  # fmt: skip
    out = [
        SECTION,
        "",
        "Command: `.venv/bin/python -m benchmarks.bench_boot --write` (machine load average "
        f"{os.getloadavg()[0]:.1f} on 2 cores).",
        "",
        f"Simulator: `{DEFAULT_POLICY}` policy with the environment-file defaults, {SLOTS} "
        "slots, seed 0, the same total maximum in every row (twice the static fleet); boot "
        "presets from `runnerfleet.sim.boot_profiles` (cold 180 s, baked 60 s, warm 30 s; "
        "sources in docs/simulator.md). `baked + warm pool 2`: one on-demand group with 2 "
        "stopped instances. `warm + spot` (the pattern of "
        "[examples/warm-spot.yaml](../examples/warm-spot.yaml)): a warm on-demand group of "
        f"at most {WARM_MAX} with {POOL} stopped, a baked "
        f"spot group for the rest, {SPOT_RATE:g} interruptions per spot instance-hour "
        "(pessimistic), lost jobs retried. Cost: on-demand "
        f"{PRICE:g} USD/h, spot a third of it, each stopped instance its EBS volume "
        f"({EBS_PER_HOUR:.4f} USD/h). x clairvoyant: instance-hours over the clairvoyant fleet "
        f"with {BOUND_BOOT_S:g} s boots (zero wait, every arrival known).",
        "",
    ]
    if (why := skipped()) is not None:
        out += [f"Skipped: {why}.", ""]
    out += [*table(results), "", *ratios(results), "", READING, "", *_boot_table(boot_rows)]
    return "\n".join(out) + "\n"


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
        results[(w, "warm (bound)")].wait_p95_s <= results[(w, "cold")].wait_p95_s
        for w in workloads()
    )
    return 0 if ordered else 1


if __name__ == "__main__":
    sys.exit(main())
