"""``--output json`` of status, outputs, runners list, autoscale and doctor: each document
validates against its schema in docs/schemas/ (the fleet and why documents have their own
tests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runnerfleet.cli import compose
from runnerfleet.cli.main import main
from tests.autoscaler.conftest import make_group
from tests.ops.conftest import Deployed, register_manager, validator


@pytest.fixture
def fleet(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> Deployed:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    monkeypatch.setattr(compose, "environment", lambda spec, *_a, **_k: (spec, deployed.target()))
    return deployed


def document(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> Any:
    assert main([*argv, "--output", "json"]) == code
    return json.loads(capsys.readouterr().out)


def test_status_json(fleet: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    doc = document(["status", str(fleet.envfile)], capsys)
    validator("status").validate(doc)
    assert doc["deployed"] and doc["status"] == "CREATE_COMPLETE" and doc["events"]


def test_outputs_json(fleet: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    doc = document(["outputs", str(fleet.envfile)], capsys)
    validator("outputs").validate(doc)
    assert doc["stack"] == fleet.spec.stack


def test_runners_list_json(fleet: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    register_manager(fleet)
    capsys.readouterr()
    doc = document(["runners", "list", str(fleet.envfile)], capsys)
    validator("runners").validate(doc)
    managers = doc["registrations"][0]["managers"]
    assert [m["instance_id"] for m in managers] == [fleet.instances[0]]


def test_autoscale_json(fleet: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    group = make_group(fleet.aws, desired=1, max_size=3, name=f"{fleet.spec.stack}-asg")
    doc = document(["autoscale", str(fleet.envfile), "--dry-run"], capsys)
    validator("autoscale").validate(doc)
    assert doc["applied"] is None
    assert [i["instance_id"] for i in doc["instances"]] == group.ids


def test_doctor_json(fleet: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", str(fleet.envfile), "--no-drift", "-o", "json"]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    validator("doctor").validate(doc)
    assert doc["findings"] and doc["ok"] == all(f["severity"] != "error" for f in doc["findings"])
