"""Write autoscaler benchmark results into the ``## Autoscaler`` section of docs/benchmarks.md.

Each benchmark owns one block inside the section, delimited by HTML comments, so the two
scripts can be run separately without erasing each other's figures.
"""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADING = "## Autoscaler"
INTRO = (
    "Measured by `benchmarks/bench_scrape.py`, `benchmarks/bench_evaluation.py` and "
    "`benchmarks/bench_decide.py` (`.venv/bin/python -m benchmarks.bench_scrape --write`, "
    "same for `bench_evaluation` and `bench_decide`)."
)


def write_block(name: str, markdown: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    match = re.search(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", text, re.S | re.M)
    section = match.group(0) if match else f"{HEADING}\n\n{INTRO}\n"
    block = f"<!-- {name} -->\n{markdown.strip()}\n<!-- /{name} -->"
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    if pattern.search(section):
        updated = pattern.sub(lambda _m: block, section)
    else:
        updated = section.rstrip() + "\n\n" + block + "\n\n"
    if match:
        text = text[: match.start()] + updated + text[match.end() :]
    else:
        text = text.rstrip() + "\n\n" + updated
    DOC.write_text(text)
