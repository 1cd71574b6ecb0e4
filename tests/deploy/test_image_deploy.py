"""The image stack through the change-set flow into moto, the parameter seed, and --build."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from runnerfleet.aws.artifacts import build_zip
from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.aws.cloudformation import ChangeSet
from runnerfleet.cli import console
from runnerfleet.cli.main import main
from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import AL2023_PARAMETER, FleetSpec
from runnerfleet.errors import AbortedError, SandboxError
from runnerfleet.ops.deploy import execute, fleet_synthesizer, prepare
from runnerfleet.ops.image import (
    NOT_EMULATED,
    ImageResult,
    deploy_image,
    seed_parameter,
    start_bake,
)
from runnerfleet.ops.target import Target
from runnerfleet.sandbox import emulator
from runnerfleet.sandbox.state import save
from tests.conftest import EXAMPLES
from tests.deploy.helpers import Recorder, fast_settings, sandbox_state, target_of

EMULATED = {
    "termination_protection": False,
    "resolves_ssm_parameters": False,
    "instance_refresh": False,
    "outputs_after_change_set": False,
    "image_builder": False,
    "poll_s": 0.05,
}


def _spec(moto_endpoint: str, seeded: emulator.Seeded, example: str = "fast") -> FleetSpec:
    """examples/<example>.yaml in the sandbox, under a unique image and stack name."""
    spec = emulator.sandbox_spec(
        load_environment(EXAMPLES / f"{example}.yaml"), sandbox_state(moto_endpoint, seeded)
    )
    assert spec.image is not None
    suffix = uuid.uuid4().hex[:8]
    image = spec.image.model_copy(update={"name": f"img-{suffix}"})
    return spec.model_copy(update={"image": image, "stack_name": f"fleet-{suffix}"})


def _target(factory: ClientFactory) -> Target:
    return target_of(factory, **EMULATED)


def _deploy(
    spec: FleetSpec, target: Target, recorder: Recorder, answer: bool = True
) -> tuple[list[ChangeSet], ImageResult]:
    seen: list[ChangeSet] = []

    def confirm(change_set: ChangeSet) -> bool:
        seen.append(change_set)
        return answer

    result = deploy_image(
        spec, target, reporter=recorder, confirm=confirm, settings=fast_settings()
    )
    return seen, result


def test_image_stack_deploys_and_seeds_its_parameter(factory, moto_endpoint, seeded):
    spec, recorder = _spec(moto_endpoint, seeded), Recorder()
    assert spec.image is not None
    (change_set,), result = _deploy(spec, _target(factory), recorder)
    assert result.outcome == "created"
    types = {c.resource_type for c in change_set.changes}
    assert "AWS::ImageBuilder::ImagePipeline" in types and "AWS::IAM::Role" in types
    parent = factory.client("ssm").get_parameter(Name=AL2023_PARAMETER)["Parameter"]["Value"]
    assert result.seeded and result.ami_id == parent
    stored = factory.client("ssm").get_parameter(Name=spec.image.parameter)["Parameter"]
    assert stored["Value"] == parent and stored["DataType"] == "aws:ec2:image"
    assert recorder.said(NOT_EMULATED)


def test_a_redeploy_changes_nothing_and_never_overwrites_a_baked_image(
    factory, moto_endpoint, seeded
):
    spec, recorder, target = _spec(moto_endpoint, seeded), Recorder(), _target(factory)
    assert spec.image is not None
    _deploy(spec, target, recorder)
    baked = factory.client("ec2").describe_images(Owners=["amazon"])["Images"][-1]["ImageId"]
    ssm = factory.client("ssm")
    ssm.put_parameter(Name=spec.image.parameter, Value=baked, Type="String", Overwrite=True)
    seen, result = _deploy(spec, target, recorder)
    assert seen == [] and result.outcome == "no changes"
    assert not result.seeded and result.ami_id == baked
    assert ssm.get_parameter(Name=spec.image.parameter)["Parameter"]["Value"] == baked


@pytest.mark.parametrize("example", ["fast", "warm-spot"])
def test_the_fleet_deploys_on_the_seeded_parameter(factory, moto_endpoint, seeded, example):
    spec, recorder, target = _spec(moto_endpoint, seeded, example), Recorder(), _target(factory)
    _deploy(spec, target, recorder)
    prepared = prepare(
        spec,
        target,
        synth=fleet_synthesizer(),
        code=build_zip(),
        reporter=recorder,
        settings=fast_settings(),
    )
    assert spec.image is not None
    assert prepared.request.parameters["ImageId"] == spec.image.parameter
    assert execute(prepared, recorder).outcome == "created"
    groups = factory.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    names = {g["AutoScalingGroupName"] for g in groups}
    assert f"{spec.stack}-asg" in names
    assert (f"{spec.stack}-overflow" in names) == (spec.capacity.overflow is not None)


def test_a_declined_image_deploy_leaves_nothing(factory, moto_endpoint, seeded):
    spec, recorder, target = _spec(moto_endpoint, seeded), Recorder(), _target(factory)
    assert spec.image is not None
    with pytest.raises(AbortedError, match="cancelled"):
        _deploy(spec, target, recorder, answer=False)
    stacks = factory.client("cloudformation").describe_stacks()["Stacks"]
    assert spec.image.stack not in [s["StackName"] for s in stacks]


def test_seed_creates_once(factory, moto_endpoint, seeded):
    spec = _spec(moto_endpoint, seeded)
    assert spec.image is not None
    ssm = factory.client("ssm")
    first, created = seed_parameter(ssm, spec, spec.image)
    second, again = seed_parameter(ssm, spec, spec.image)
    assert created and not again and first == second


def test_bake_in_the_sandbox_says_image_builder_is_not_emulated(factory):
    with pytest.raises(SandboxError, match="EC2 Image Builder is not emulated"):
        start_bake(_target(factory), "arn:aws:imagebuilder:us-east-1:123456789012:image-pipeline/x")


def test_bake_starts_the_pipeline(monkeypatch: pytest.MonkeyPatch):
    pipeline = "arn:aws:imagebuilder:eu-west-1:123456789012:image-pipeline/runnerfleet-image-x"
    client = boto3.client(
        "imagebuilder", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    stub = Stubber(client)
    built = "arn:aws:imagebuilder:eu-west-1:123456789012:image/runnerfleet-image-x/1.0.7/1"
    stub.add_response(
        "start_image_pipeline_execution",
        {"requestId": "r", "clientToken": "t", "imageBuildVersionArn": built},
        {"imagePipelineArn": pipeline},
    )
    factory = ClientFactory(AwsTarget(region="eu-west-1"))
    monkeypatch.setattr(factory, "client", lambda _service: client)
    with stub:
        assert start_bake(target_of(factory), pipeline) == built


def test_cli_image_deploy_in_the_sandbox(
    moto_endpoint, seeded, tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.setattr(console.out, "width", 200)
    monkeypatch.setattr(console.err, "width", 200)
    save(sandbox_state(moto_endpoint, seeded))
    env = tmp_path / "fast.yaml"
    env.write_text(
        f"extends: {EXAMPLES / 'fast.yaml'}\nimage: {{name: cli-{uuid.uuid4().hex[:6]}}}\n"
    )
    assert main(["image", "deploy", str(env), "--sandbox", "--yes"]) == 0
    captured = capsys.readouterr()
    assert "EMULATED" in captured.err and "EC2 Image Builder is not emulated" in captured.err
    assert "(the parent AMI, until the first bake)" in captured.out
    assert main(["image", "deploy", str(env), "--sandbox", "--yes", "--build"]) == 7
    captured = capsys.readouterr()
    assert "no changes" in captured.out and "not emulated" in captured.err


def test_cli_image_synth(tmp_path: Path, capsys):
    target = tmp_path / "image.json"
    assert main(["image", "synth", str(EXAMPLES / "fast.yaml"), "-o", str(target)]) == 0
    assert '"AWS::ImageBuilder::ImagePipeline"' in target.read_text()
    assert main(["image", "synth", str(EXAMPLES / "dev.yaml")]) == 2
    assert "no image: section" in capsys.readouterr().err
