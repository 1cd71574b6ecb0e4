"""`make bench`: every benchmark, one after another, each in a process of its own.

Each benchmark prints its figures; those that take ``--write`` also update their section of
docs/benchmarks.md. Run one alone with ``.venv/bin/python -m benchmarks.<name>``.
"""

from __future__ import annotations

import subprocess
import sys
import time

# (module, arguments): the ones with --write rewrite their own section of docs/benchmarks.md
BENCHMARKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("benchmarks.bench_decide", ("--write",)),
    ("benchmarks.bench_scrape", ("--write",)),
    ("benchmarks.bench_evaluation", ("--write",)),
    ("benchmarks.bench_sim", ("--write",)),
    ("benchmarks.bench_policies", ("--write",)),
    ("benchmarks.bench_levers", ("--write",)),
    ("benchmarks.bench_reliability", ()),
    ("benchmarks.bench_template", ()),
    ("benchmarks.bench_cli", ()),
    ("benchmarks.bench_deploy", ()),
    ("benchmarks.bench_instance", ()),
    ("benchmarks.bench_boot", ("--write",)),
    ("benchmarks.bench_gitlab", ()),
    ("benchmarks.bench_access", ()),
)


def main() -> int:
    failed = []
    for module, args in BENCHMARKS:
        print(f"== {module} {' '.join(args)}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", module, *args])
        print(f"== {module}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
