"""Golden snapshots of the examples' templates; UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os

import pytest

from runnerfleet.stack.template import render, synthesize
from runnerfleet.tokenscreen import TOKEN_PATTERN
from tests.conftest import REPO
from tests.stack.helpers import EXAMPLE_NAMES, example, full_variant

GOLDEN = REPO / "tests" / "stack" / "golden"


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_matches_its_golden_snapshot(name: str) -> None:
    text = render(synthesize(example(name)))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8"), (
        f"the template of examples/{name}.yaml changed: review the diff, then "
        "UPDATE_GOLDEN=1 pytest tests/stack/test_golden.py"
    )


def test_same_spec_same_bytes() -> None:
    first = render(synthesize(full_variant()))
    second = render(synthesize(full_variant()))
    assert first == second


def test_output_has_no_secret_and_no_timestamp() -> None:
    text = render(synthesize(full_variant()))
    assert TOKEN_PATTERN.search(text) is None
    for forbidden in ("NoEcho", "Timestamp", "2026-"):
        assert forbidden not in text


@pytest.mark.parametrize(("name", "policy"), [("prod", "Retain"), ("dev", "Delete")])
def test_production_keeps_its_log_groups_and_dead_letter_queue(name: str, policy: str) -> None:
    resources = synthesize(example(name))["Resources"]
    kept = {"AWS::Logs::LogGroup", "AWS::SQS::Queue"}
    chosen = [r for r in resources.values() if r["Type"] in kept]
    assert {r["Type"] for r in chosen} == kept
    assert {(r["DeletionPolicy"], r["UpdateReplacePolicy"]) for r in chosen} == {(policy, policy)}
