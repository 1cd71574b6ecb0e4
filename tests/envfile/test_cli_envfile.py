"""The read-only commands, through the real entry point and its exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from tests.conftest import EXAMPLES


def test_validate_examples_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES / "dev.yaml"), str(EXAMPLES / "prod.yaml")]) == 0
    assert "runnerfleet-prod" in capsys.readouterr().out


def test_validate_invalid_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfoo: 1\n")
    assert main(["validate", str(bad)]) == 2
    assert "unknown key 'foo'" in capsys.readouterr().err


def test_validate_guardrail_error_exit_3(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("defaults: {max_fleet_size: 2}\n")
    assert main(["validate", str(EXAMPLES / "dev.yaml"), "--policy", str(policy)]) == 3


def test_validate_guardrail_findings_name_file_line_key_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guardrails know only the key; validate prints each finding as the one line every other
    finding uses, located in the file (child or parent) that set the key."""
    from runnerfleet.cli.console import out

    monkeypatch.setattr(out, "_width", 400)  # no folding: one table row, one line
    child = tmp_path / "small.yaml"
    child.write_text(f"extends: {EXAMPLES / 'dev.yaml'}\nname: small\ncapacity:\n  max: 9\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("defaults: {max_fleet_size: 2}\n")
    assert main(["validate", str(child), "--policy", str(policy)]) == 3
    text = capsys.readouterr().out
    assert (
        f"{child}:4: capacity.max: max size 9 exceeds the policy's limit of 2; "
        "fix: lower capacity.max to 2" in text
    )
    base = EXAMPLES / "base.yaml"
    sha_line = next(
        n for n, line in enumerate(base.read_text().splitlines(), 1) if "  sha256:" in line
    )
    assert f"{base}:{sha_line}: runner.sha256: the gitlab-runner binary" in text


def test_validate_strict_fails_on_warnings() -> None:
    assert main(["validate", "--strict", str(EXAMPLES / "dev.yaml")]) == 3


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False and "registrations" in schema["properties"]


def test_import_properties_writes_file(tmp_path: Path) -> None:
    props = tmp_path / "p.properties"
    props.write_text("VpcID=vpc-0a1b2c3d\nRunnersToken=glrt-abcdefghijkl\nMinSize=0\n")
    out = tmp_path / "env.yaml"
    code = main(
        [
            "import-properties",
            str(props),
            "--account-id",
            "123456789012",
            "--region",
            "us-east-1",
            "-o",
            str(out),
        ]
    )
    assert code == 0 and "glrt-" not in out.read_text()


def test_missing_file_is_clear(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "does-not-exist.yaml"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_import_properties_output_is_owner_only(tmp_path: Path) -> None:
    props = tmp_path / "p.properties"
    props.write_text("VpcID=vpc-0a1b2c3d\nMinSize=0\n")
    out = tmp_path / "env.yaml"
    out.write_text("old")
    out.chmod(0o644)
    args = ["import-properties", str(props), "--account-id", "123456789012"]
    assert main([*args, "--region", "us-east-1", "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600 and "vpc-0a1b2c3d" in out.read_text()


def test_import_properties_unwritable_output_is_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    props = tmp_path / "p.properties"
    props.write_text("VpcID=vpc-0a1b2c3d\n")
    args = ["import-properties", str(props), "--account-id", "123456789012", "--region"]
    assert main([*args, "us-east-1", "-o", str(tmp_path / "no" / "env.yaml")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_unforeseen_errors_are_one_line_unless_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import runnerfleet.envfile

    def broken(*_: object) -> None:
        raise KeyError("glpat-abcdefghijklmnopqrst was here")

    monkeypatch.setattr(runnerfleet.envfile, "load_environments", broken)
    assert main(["validate", str(EXAMPLES / "dev.yaml")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected KeyError" in err
    assert "run again with --debug" in err and "glpat-" not in err
    with pytest.raises(KeyError):
        main(["--debug", "validate", str(EXAMPLES / "dev.yaml")])
    assert main(["validate", str(EXAMPLES / "dev.yaml")]) == 1  # --debug did not stick
