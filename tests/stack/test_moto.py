"""Smoke test: the examples' templates deploy through a change set into moto (127.0.0.1).

moto proves that every intrinsic resolves and the parameters are wired; it skips lifecycle hooks,
warm pools and alarms (so the template never reads an attribute of those) and enforces no IAM.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.stack.params import parameter_values
from runnerfleet.stack.template import synthesize
from tests.stack.helpers import example, full_variant, variant

pytestmark = [
    pytest.mark.contract,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning"),
]
CODE_KEY = "runnerfleet/lambda/runnerfleet-0000.zip"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    body = json.dumps({"lambda": {"use_docker": False}}).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{url}/moto-api/config", data=body)  # noqa: S310 - loopback
    with opener.open(request):
        pass
    yield url
    server.stop()


def _seeded(spec: FleetSpec, aws: ClientFactory) -> FleetSpec:
    """The spec pointed at a VPC, subnets and an artefact bucket that exist in moto."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24")["Subnet"]["SubnetId"]
        for i in range(len(spec.network.subnet_ids))
    ]
    s3 = aws.client("s3")
    where = {} if spec.aws.region == "us-east-1" else {"LocationConstraint": spec.aws.region}
    s3.create_bucket(Bucket=spec.artifacts.bucket, CreateBucketConfiguration=where) if where else (
        s3.create_bucket(Bucket=spec.artifacts.bucket)
    )
    s3.put_object(Bucket=spec.artifacts.bucket, Key=CODE_KEY, Body=b"PK\x05\x06" + b"\0" * 18)
    return variant(spec, network={"vpc_id": vpc, "subnet_ids": subnets})


def _deploy(spec: FleetSpec, aws: ClientFactory) -> dict[str, str]:
    cfn = aws.client("cloudformation")
    values = parameter_values(spec, CODE_KEY)
    cfn.create_change_set(
        StackName=spec.stack,
        ChangeSetName="create",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(synthesize(spec), sort_keys=True),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())],
        Capabilities=["CAPABILITY_IAM"],
    )
    cfn.get_waiter("change_set_create_complete").wait(StackName=spec.stack, ChangeSetName="create")
    cfn.execute_change_set(StackName=spec.stack, ChangeSetName="create")
    cfn.get_waiter("stack_create_complete").wait(StackName=spec.stack)
    stack = cfn.describe_stacks(StackName=spec.stack)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # moto computes Outputs before a change set creates the resources (they come back
    # empty), so the physical ids are read from the stack's resources instead.
    rows = cfn.describe_stack_resources(StackName=spec.stack)["StackResources"]
    return {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
        for r in rows
        if "LogicalResourceId" in r
    }


@pytest.mark.parametrize("name", ["dev", "prod", "full"])
def test_example_deploys_through_a_change_set(name: str, endpoint: str) -> None:
    base = full_variant() if name == "full" else example(name)
    aws = ClientFactory(AwsTarget(region=base.aws.region, endpoint_url=endpoint, max_attempts=1))
    spec = _seeded(base, aws)
    physical = _deploy(spec, aws)
    assert physical["AutoScalingGroup"] == f"{spec.stack}-asg"
    assert physical["DrainDocument"] == f"{spec.stack}-drain"
    assert physical["BootstrapLogGroup"] == f"/runnerfleet/{spec.stack}/bootstrap"
    _check_launch_template(aws, physical["LaunchTemplate"])
    _check_functions(aws, spec)
    _check_wiring(aws, spec, physical)
    aws.client("cloudformation").delete_stack(StackName=spec.stack)


def _check_launch_template(aws: ClientFactory, template_id: str) -> None:
    versions = aws.client("ec2").describe_launch_template_versions(LaunchTemplateId=template_id)
    data = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is False
    assert data["IamInstanceProfile"]["Arn"].startswith("arn:aws:iam::")


def _check_functions(aws: ClientFactory, spec: FleetSpec) -> None:
    lam = aws.client("lambda")
    fn = lam.get_function(FunctionName=f"{spec.stack}-lifecycle")
    env = fn["Configuration"]["Environment"]["Variables"]
    assert env["RUNNERFLEET_DRAIN_DOCUMENT"] == f"{spec.stack}-drain"
    assert env["RUNNERFLEET_GROUP"] == f"{spec.stack}-asg"
    assert env["RUNNERFLEET_COMMAND_LOG_GROUP"] == f"/runnerfleet/{spec.stack}/drain"
    assert fn["Configuration"]["Runtime"] == "python3.12"
    scaler = lam.get_function(FunctionName=f"{spec.stack}-autoscaler")["Configuration"]
    assert scaler["Environment"]["Variables"]["RUNNERFLEET_GROUP"] == f"{spec.stack}-asg"
    assert scaler["VpcConfig"]["SubnetIds"] == list(spec.network.subnet_ids)
    policy = json.loads(lam.get_policy(FunctionName=f"{spec.stack}-lifecycle")["Policy"])
    arns = [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]]
    assert arns and all(a.startswith("arn:aws:events:") for a in arns)


def _check_wiring(aws: ClientFactory, spec: FleetSpec, physical: dict[str, str]) -> None:
    iam = aws.client("iam")
    role = physical["LifecycleRole"]
    doc = iam.get_role_policy(RoleName=role, PolicyName="runnerfleet-lifecycle")["PolicyDocument"]
    text = json.dumps(doc)
    assert f"autoScalingGroupName/{spec.stack}-asg" in text and "${" not in text
    assert f":{spec.aws.account_id}:" in text or ":123456789012:" in text
    groups = aws.client("ec2").describe_security_groups(GroupIds=[physical["RunnerSecurityGroup"]])
    ingress: list[Any] = groups["SecurityGroups"][0]["IpPermissions"]
    assert [(p["FromPort"], len(p["UserIdGroupPairs"]), p["IpRanges"]) for p in ingress] == [
        (9252, 1, [])
    ]
    asg = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[physical["AutoScalingGroup"]]
    )["AutoScalingGroups"][0]
    assert asg["MaxSize"] == spec.capacity.max


def test_two_stacks_coexist_in_one_account_and_region(endpoint: str) -> None:
    """Every name derives from the stack: a second environment beside the first deploys.

    moto does not refuse every duplicate name (Lambda functions are overwritten), so the
    name-by-name check lives in test_iam.py::test_two_stacks_share_no_name."""
    base = example("dev")
    aws = ClientFactory(AwsTarget(region=base.aws.region, endpoint_url=endpoint, max_attempts=1))
    first = _seeded(variant(base, stack_name="fleet-blue"), aws)
    second = variant(first, stack_name="fleet-green")
    assert _deploy(first, aws)["AutoScalingGroup"] == "fleet-blue-asg"
    assert _deploy(second, aws)["AutoScalingGroup"] == "fleet-green-asg"
    groups = aws.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert {"fleet-blue-asg", "fleet-green-asg"} <= {g["AutoScalingGroupName"] for g in groups}
