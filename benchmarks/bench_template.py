"""Figures of the synthesized templates, for docs/template.md.

For each example: resources, rendered size (file and compact body), cfn-lint findings by level,
checkov passed/failed/skipped, and the median synthesis time of 5 runs.

Run: .venv/bin/python -m benchmarks.bench_template   (checkov from `make checkov`)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from cfnlint.api import ManualArgs, lint

from runnerfleet.envfile import load_environment
from runnerfleet.stack.template import INLINE_BODY_LIMIT, body_size, render, synthesize

REPO = Path(__file__).resolve().parents[1]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
EXAMPLES = ("dev", "prod")


def _synth_ms(path: Path) -> float:
    spec = load_environment(path)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        render(synthesize(spec))
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def _lint_counts(text: str, region: str) -> dict[str, int]:
    matches = lint(text, config=ManualArgs(regions=[region], include_checks=["I"]))
    counts = {"E": 0, "W": 0, "I": 0}
    for m in matches:
        counts[m.rule.id[0]] += 1
    return counts


def _checkov(path: Path) -> str:
    if not CHECKOV.exists():
        return "not installed (make checkov)"
    proc = subprocess.run(
        [str(CHECKOV), "-f", str(path), "--framework", "cloudformation", "--skip-download",
         "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    summary = json.loads(proc.stdout)["summary"]
    return f"{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped"


def main() -> None:
    columns = ("example", "resources", "file bytes", "body bytes", "inline?", "cfn-lint E/W/I",
               "checkov", "synth ms")  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    with tempfile.TemporaryDirectory() as tmp:
        for name in EXAMPLES:
            envfile = REPO / "examples" / f"{name}.yaml"
            spec = load_environment(envfile)
            template = synthesize(spec)
            text = render(template)
            out = Path(tmp) / f"{name}.json"
            out.write_text(text, encoding="utf-8")
            lint_counts = _lint_counts(text, spec.aws.region)
            size = body_size(template)
            inline = "yes" if size <= INLINE_BODY_LIMIT else "no: S3"
            print(
                f"| {name} | {len(template['Resources'])} | {len(text.encode())} | {size} | "
                f"{inline} | {lint_counts['E']}/{lint_counts['W']}/{lint_counts['I']} | "
                f"{_checkov(out)} | {_synth_ms(envfile):.1f} |"
            )


if __name__ == "__main__":
    main()
