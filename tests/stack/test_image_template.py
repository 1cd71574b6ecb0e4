"""The image stack's template: lint-clean, checkov-clean, golden, scoped IAM, and the fleet's
launch template taking its image from the baked image's parameter."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from runnerfleet.envfile.image import MONTHLY
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SpecError
from runnerfleet.stack.iam import UNSCOPABLE_ACTIONS
from runnerfleet.stack.image import synthesize_image
from runnerfleet.stack.params import SSM_IMAGE_TYPE
from runnerfleet.stack.template import render, synthesize
from runnerfleet.tokenscreen import TOKEN_PATTERN
from tests.stack.helpers import example, variant
from tests.stack.test_golden import GOLDEN
from tests.stack.test_iam import SECRET_READS, _is_read, _statements
from tests.stack.test_lint import assert_checkov_clean, needs_checkov

ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ci/build:1.2"
PORT_IMAGE = "registry.example.com:5000/ci/job@sha256:" + "0" * 64


def _full() -> FleetSpec:
    """A customer key, ECR and a registry port, a fixed parent AMI, no SSM agent."""
    base = example("fast")
    assert base.image is not None
    image = base.image.model_dump(mode="json") | {
        "kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "pre_pull": [ECR_IMAGE, PORT_IMAGE],
        "agents": ["cloudwatch"],
        "os_patches": False,
    }
    instances = base.instances.model_dump(mode="json") | {
        "image": {"ami_id": "ami-0123456789abcdef0"}
    }
    return variant(base, image=image, instances=instances)


SPECS = {"fast": example("fast"), "full": _full()}


def _resources(spec: FleetSpec) -> dict[str, Any]:
    return dict(synthesize_image(spec)["Resources"])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cfn_lint_is_clean(name: str) -> None:
    spec = SPECS[name]
    text = render(synthesize_image(spec))
    matches = lint(text, config=ManualArgs(regions=[spec.aws.region], include_checks=["I"]))
    assert [str(m) for m in matches] == []


@needs_checkov
def test_checkov_has_no_failed_check(tmp_path: Path) -> None:
    templates = {f"image-{name}": synthesize_image(spec) for name, spec in SPECS.items()}
    assert_checkov_clean(tmp_path, templates, min_passed=40)


def test_example_matches_its_golden_snapshot() -> None:
    text = render(synthesize_image(example("fast")))
    path = GOLDEN / "image-fast.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8"), (
        "the image template of examples/fast.yaml changed: review the diff, then "
        "UPDATE_GOLDEN=1 pytest tests/stack/test_image_template.py"
    )


def test_same_spec_same_bytes_and_versions_follow_content() -> None:
    assert render(synthesize_image(_full())) == render(synthesize_image(_full()))
    one, other = _resources(SPECS["fast"]), _resources(_full())
    for logical in ("BakeComponent", "Recipe"):
        assert one[logical]["Properties"]["Version"] != other[logical]["Properties"]["Version"]
        assert one[logical]["Properties"]["Version"].startswith("1.0.")


def test_pipeline_bakes_monthly_and_logs_to_its_groups() -> None:
    pipeline = _resources(SPECS["fast"])["Pipeline"]["Properties"]
    assert pipeline["Schedule"]["ScheduleExpression"] == MONTHLY == "cron(0 4 1 * ? *)"
    assert pipeline["Schedule"]["PipelineExecutionStartCondition"] == "EXPRESSION_MATCH_ONLY"
    assert pipeline["LoggingConfiguration"] == {
        "ImageLogGroupName": {"Ref": "ImageLogGroup"},
        "PipelineLogGroupName": {"Ref": "PipelineLogGroup"},
    }
    assert pipeline["ImageTestsConfiguration"]["ImageTestsEnabled"] is True
    assert pipeline["ExecutionRole"] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}


def test_distribution_publishes_the_newest_ami_in_the_parameter() -> None:
    (dist,) = _resources(SPECS["fast"])["Distribution"]["Properties"]["Distributions"]
    assert dist["SsmParameterConfigurations"] == [
        {"ParameterName": "/runnerfleet/images/runner-al2023/ami-id", "DataType": "aws:ec2:image"}
    ]
    assert "{{imagebuilder:buildDate}}" in dist["AmiDistributionConfiguration"]["Name"]


def test_recipe_builds_on_the_fleets_base_image_encrypted() -> None:
    fast = _resources(SPECS["fast"])["Recipe"]["Properties"]
    assert (
        fast["ParentImage"]
        == "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    )
    (volume,) = fast["BlockDeviceMappings"]
    assert volume["Ebs"]["Encrypted"] is True and "KmsKeyId" not in volume["Ebs"]
    full = _resources(_full())["Recipe"]["Properties"]
    assert full["ParentImage"] == "ami-0123456789abcdef0"
    assert full["BlockDeviceMappings"][0]["Ebs"]["KmsKeyId"].startswith("arn:aws:kms:")
    assert full["AdditionalInstanceConfiguration"]["SystemsManagerAgent"]["UninstallAfterBuild"]


def test_build_instances_take_imdsv2_and_egress_only() -> None:
    resources = _resources(_full())
    infra = resources["Infrastructure"]["Properties"]
    assert infra["InstanceMetadataOptions"]["HttpTokens"] == "required"
    assert infra["TerminateInstanceOnFailure"] is True
    group = resources["BuildSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert sorted(e["FromPort"] for e in group["SecurityGroupEgress"]) == [443, 5000]


def test_iam_is_scoped() -> None:
    template = synthesize_image(_full())
    for role, st in _statements(template):
        actions = st["Action"]
        assert not any("*" in a for a in actions), f"{role}/{st['Sid']}"
        if st["Resource"] == "*":
            bad = [a for a in actions if not _is_read(a) and a not in UNSCOPABLE_ACTIONS]
            assert bad + [a for a in actions if a in SECRET_READS] == [], f"{role}/{st['Sid']}"
    text = json.dumps(template["Resources"]["ExecutionRole"])
    publish = [st for r, st in _statements(template) if "ssm:PutParameter" in st["Action"]]
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
    own = arn + "/runnerfleet/images/runner-al2023/ami-id"
    assert [st["Resource"] for st in publish] == [[{"Fn::Sub": own}]]
    assert '"aws:SourceAccount"' in text and '"imagebuilder.amazonaws.com"' in text
    build = json.dumps(template["Resources"]["BuildRole"])
    assert "ManagedPolicyArns" not in build
    assert "repository/ci/build" in build  # ECR pulls for the pre-pulled image only
    assert template["Resources"]["ExecutionRole"]["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/EC2ImageBuilderExecutionPolicy"}
    ]


def test_too_many_job_images_are_refused_before_the_component_limit() -> None:
    base = example("fast")
    assert base.image is not None
    many = [f"registry.example.com/ci/job-{i:04d}-{'x' * 60}:1.0" for i in range(150)]
    spec = variant(base, image=base.image.model_dump(mode="json") | {"pre_pull": many})
    with pytest.raises(SpecError, match="pre-pull fewer job images"):
        synthesize_image(spec)


def test_an_environment_without_image_section_has_nothing_to_bake() -> None:
    with pytest.raises(SpecError, match="no image: section"):
        synthesize_image(example("dev"))


def test_the_fleet_boots_from_the_baked_images_parameter() -> None:
    parameter = synthesize(example("fast"))["Parameters"]["ImageId"]
    assert parameter["Type"] == SSM_IMAGE_TYPE
    assert parameter["Default"] == "/runnerfleet/images/runner-al2023/ami-id"
    fixed = synthesize(_full())["Parameters"]["ImageId"]  # baked wins over a fixed parent AMI
    assert fixed["Type"] == SSM_IMAGE_TYPE
    dev = synthesize(example("dev"))["Parameters"]["ImageId"]
    assert dev["Default"].startswith("/aws/service/ami-amazon-linux-latest/")


def test_every_instance_may_publish_its_boot_times() -> None:
    role = synthesize(example("dev"))["Resources"]["InstanceRole"]
    (publish,) = [
        st
        for _, st in _statements({"Resources": {"InstanceRole": role}})
        if st["Sid"] == "PublishMetrics"
    ]
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Runnerfleet"}}


def test_no_secret_in_the_image_template() -> None:
    text = render(synthesize_image(_full()))
    assert TOKEN_PATTERN.search(text) is None
