"""`runnerfleet synth`: writes the template, deterministic, parameters on request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from runnerfleet.envfile.models import AL2023_PARAMETER
from tests.conftest import EXAMPLES


@pytest.fixture
def envfile() -> Path:
    return EXAMPLES / "dev.yaml"


def test_synth_writes_the_same_bytes_twice(envfile: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["synth", str(envfile), "-o", str(first)]) == 0
    assert main(["synth", str(envfile), "--output", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    template = json.loads(first.read_text())
    assert template["Resources"]["AutoScalingGroup"]["Type"] == "AWS::AutoScaling::AutoScalingGroup"


def test_synth_prints_to_stdout(envfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(envfile)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["AWSTemplateFormatVersion"] == "2010-09-09"
    assert "bytes as sent" in captured.err


def test_synth_params(envfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(envfile), "--params", "--code-key", "p/lambda/x.zip"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"ParameterKey": "CodeKey", "ParameterValue": "p/lambda/x.zip"},
        {"ParameterKey": "ImageId", "ParameterValue": AL2023_PARAMETER},
    ]


def test_synth_without_checksum_says_what_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No checksum, no bootstrap: the instances would install an unverified binary."""
    bare = tmp_path / "bare.yaml"
    bare.write_text(
        f"extends: {EXAMPLES / 'dev.yaml'}\nrunner:\n  sha256: null\n", encoding="utf-8"
    )
    assert main(["synth", str(bare)]) == 2
    assert "runner.sha256" in capsys.readouterr().err


def test_synth_invalid_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: dev\nunknown: 1\n", encoding="utf-8")
    assert main(["synth", str(bad)]) == 2
