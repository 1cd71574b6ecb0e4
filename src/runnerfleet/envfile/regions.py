"""AWS region names, checked against the partition data botocore ships (read offline, once).

A typo such as ``us-est-1`` would otherwise pass validation and synthesis, then fail at
deploy time with an endpoint error. botocore's ``endpoints.json`` lists every partition's
regions; a region newer than the installed botocore is refused with a hint to upgrade it.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

REGION_SHAPE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows; empty when its data is missing."""
    spec = find_spec("botocore")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    data_file = Path(next(iter(spec.submodule_search_locations))) / "data" / "endpoints.json"
    try:
        data = json.loads(data_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    partitions = data.get("partitions", []) if isinstance(data, dict) else []
    return frozenset(region for p in partitions for region in p.get("regions", {}))


def closest(name: str, candidates: frozenset[str]) -> str | None:
    """The best-scoring candidates (ties shown together, ``'a' or 'b'``), or None."""
    scored = sorted((-difflib.SequenceMatcher(None, name, c).ratio(), c) for c in candidates)
    best = [c for score, c in scored[:3] if score == scored[0][0] and -score >= 0.6]
    return " or ".join(repr(c) for c in best) or None


def region_problem(name: str) -> str | None:
    """None for a known region; otherwise the problem and its fix, as ``problem; fix: ...``."""
    known = known_regions()
    if name in known or (not known and REGION_SHAPE.match(name)):
        return None
    close = closest(name, known)
    fix = f"did you mean {close}?" if close else "use a region name such as eu-west-1"
    return (
        f"unknown AWS region {name[:40]!r}; fix: {fix} (a region newer than the installed "
        "botocore needs `pip install -U botocore`)"
    )
