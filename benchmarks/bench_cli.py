"""CLI start-up: `runnerfleet --help` and every `runnerfleet COMMAND --help`, in fresh processes.

    .venv/bin/python -m benchmarks.bench_cli [--runs 7]

Each figure is the median wall time of N fresh processes, the commands interleaved round by
round so that a busy machine slows all of them alike. Beside them, two references measured in
the same rounds: a bare interpreter (`python -c pass`) and one that imports boto3 and pydantic
(what start-up cost before commands were imported lazily). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from runnerfleet.cli.lazy import COMMANDS

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "runnerfleet.cli.main"]
REFERENCES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import boto3, pydantic'": [sys.executable, "-c", "import boto3, pydantic"],
}


def cases() -> dict[str, list[str]]:
    found = dict(REFERENCES)
    found["runnerfleet --help"] = [*CLI, "--help"]
    for name in COMMANDS:
        found[f"runnerfleet {name} --help"] = [*CLI, name, "--help"]
    return found


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=REPO, timeout=120)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, float]:
    """Median seconds per case; every round runs every case once."""
    todo = cases()
    samples: dict[str, list[float]] = {name: [] for name in todo}
    for _ in range(runs):
        for name, argv in todo.items():
            samples[name].append(timed(argv))
    return {name: statistics.median(values) for name, values in samples.items()}


def table(medians: dict[str, float], limit: float) -> str:
    base = medians["python -c pass"]
    rows = ["| command | median s | x bare python | under 0.3 s |", "|---|---|---|---|"]
    for name, value in medians.items():
        ok = "" if name in REFERENCES else ("yes" if value < limit else "no")
        rows.append(f"| `{name}` | {value:.3f} | {value / base:.1f} | {ok} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--limit", type=float, default=0.3)
    args = parser.parse_args()
    print(table(measure(args.runs), args.limit))


if __name__ == "__main__":
    main()
