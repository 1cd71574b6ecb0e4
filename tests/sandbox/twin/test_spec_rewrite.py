"""``deploy --sandbox`` points the environment at the sandbox, its GitLab stand-in included."""

from __future__ import annotations

from dataclasses import replace

from runnerfleet.envfile import load_environment
from runnerfleet.sandbox.emulator import TOKEN_PARAMETER, rewrite_notes, sandbox_spec
from runnerfleet.sandbox.state import SandboxState
from tests.conftest import EXAMPLES

STATE = SandboxState(
    endpoint="http://127.0.0.1:4566",
    pid=1,
    port=4566,
    region="us-east-1",
    vpc_id="vpc-1",
    subnet_ids=("subnet-a", "subnet-b"),
    bucket="bucket",
    log_file="twin.log",
    gitlab_url="http://127.0.0.1:8929",
)


def test_instances_register_with_the_stand_in_deploy_creates_runners_in() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    rewritten = sandbox_spec(spec, STATE)
    assert rewritten.runner.gitlab_url == "http://127.0.0.1:8929"
    assert f"gitlab {spec.runner.gitlab_url} -> the stand-in at http://127.0.0.1:8929" in (
        rewrite_notes(spec, STATE)
    )


def test_without_a_stand_in_the_gitlab_url_is_left_alone() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    state = replace(STATE, gitlab_url=None)
    assert sandbox_spec(spec, state).runner.gitlab_url == spec.runner.gitlab_url
    assert not [n for n in rewrite_notes(spec, state) if n.startswith("gitlab ")]


def test_the_deployed_functions_read_the_stand_in_with_its_token_in_ssm() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    assert spec.runner.gitlab_token is not None
    token = sandbox_spec(spec, STATE).runner.gitlab_token
    assert token is not None and token.ssm_parameter == TOKEN_PARAMETER
    assert f"gitlab API token -> the stand-in's, in SSM {TOKEN_PARAMETER}" in (
        rewrite_notes(spec, STATE)
    )
    # without a stand-in there is no token to read: the file's reference stays
    alone = sandbox_spec(spec, replace(STATE, gitlab_url=None)).runner.gitlab_token
    assert alone == spec.runner.gitlab_token
