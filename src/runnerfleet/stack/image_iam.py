"""Roles of the image stack: the build instance's, and Image Builder's execution role.

The build instance role is written out, scoped to this stack, instead of the managed
EC2InstanceProfileForImageBuilder + AmazonSSMManagedInstanceCore pair (which would let it read
every SSM parameter and component in the account): it reads our component, AWSTOE's own
bucket, writes our build log group, talks to SSM, and pulls only the ECR repositories that
``image.pre_pull`` names.

The execution role is the one place with an AWS managed policy. Image Builder needs an
execution role as soon as a distribution writes an SSM parameter ("you must specify the
ssm:PutParameter action in your Image Builder execution role"), and such a role replaces the
service-linked role for the whole build: launching, tagging, snapshotting, Run Command.
EC2ImageBuilderExecutionPolicy is AWS's documented baseline for exactly that, kept current by
AWS as the service changes. Only Image Builder of this account may assume the role, and what we
add inline is scoped to this stack: one parameter, one role to pass.
"""

from __future__ import annotations

import re

from runnerfleet.envfile.image import BakedImageSection, registry_of
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.stack import iam
from runnerfleet.stack.cfn import (
    Json,
    arn,
    getatt,
    log_group_arn,
    ref,
    ssm_parameter_arn,
    statement,
    sub,
    tags_list,
)

IMAGEBUILDER_TRUST = iam.service_trust(
    "imagebuilder.amazonaws.com", {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
)
EXECUTION_POLICY = "arn:${AWS::Partition}:iam::aws:policy/EC2ImageBuilderExecutionPolicy"
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$")


def registry_ports(image: BakedImageSection) -> set[int]:
    """Ports other than 443 that a pre-pulled image's registry names (``host:5000/...``)."""
    ports = set()
    for reference in image.pre_pull:
        host = registry_of(reference) or ""
        _name, colon, port = host.partition(":")
        if colon and port.isdigit():
            ports.add(int(port))
    return ports


def ecr_repositories(image: BakedImageSection) -> list[Json]:
    """ARNs of the ECR repositories among the pre-pulled images."""
    found = set()
    for reference in image.pre_pull:
        match = _ECR_HOST.match(registry_of(reference) or "")
        if match:
            path = reference.split("/", 1)[1]
            repo = re.split(r"[:@]", path, maxsplit=1)[0]
            found.add((match.group(2), match.group(1), repo))
    return [
        sub(f"arn:${{AWS::Partition}}:ecr:{region}:{account}:repository/{repo}")
        for region, account, repo in sorted(found)
    ]


def _ecr_statements(image: BakedImageSection) -> list[Json]:
    repos = ecr_repositories(image)
    if not repos:
        return []
    return [
        statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
        statement(
            "PullPrePulledImages",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            repos,
        ),
    ]


def build_statements(image: BakedImageSection) -> list[Json]:
    return [
        statement(
            "ReadOwnComponent",
            ["imagebuilder:GetComponent"],
            [arn("imagebuilder", "component/${AWS::StackName}-bake/*")],
        ),
        # AWSTOE (the component runner) and its documents come from AWS's ec2imagebuilder-*
        # buckets, the scope AWS's own instance profile policy uses.
        statement(
            "ReadToeBuckets", ["s3:GetObject"], [sub("arn:${AWS::Partition}:s3:::ec2imagebuilder*")]
        ),
        statement(
            "WriteBuildLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group_arn("ImageLogGroup")],
        ),
        statement(
            "SsmAgentRegistration",
            ["ssm:UpdateInstanceInformation"],
            [arn("ec2", iam.ANY_INSTANCE)],
        ),
        statement(
            "SsmAgentMessaging",
            [
                a
                for a in iam.UNSCOPABLE_ACTIONS
                if a.split(":")[0] in ("ec2messages", "ssmmessages")
            ],
            "*",
        ),
        *_ecr_statements(image),
    ]


def execution_statements(image: BakedImageSection) -> list[Json]:
    return [
        statement(
            "PublishImageId",
            ["ssm:AddTagsToResource", "ssm:GetParameter", "ssm:PutParameter"],
            [ssm_parameter_arn(image.parameter)],
        ),
        # aws:ec2:image parameters are checked against DescribeImages before they are stored.
        statement("CheckImageId", ["ec2:DescribeImages"], "*"),
        statement(
            "PassBuildRole",
            ["iam:PassRole"],
            [getatt("BuildRole", "Arn")],
            {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
        *_ebs_key_statements(image),
    ]


def _ebs_key_statements(image: BakedImageSection) -> list[Json]:
    """A customer key on the image's volumes: EC2 uses it on the pipeline's behalf."""
    key = image.kms_key_id
    if not key:
        return []
    resource = key if key.startswith("arn:") else arn("kms", "key/*")
    via = {"kms:ViaService": sub("ec2.${AWS::Region}.amazonaws.com")}
    condition: Json = {"StringEquals": via}
    if key.startswith("alias/"):
        condition["ForAnyValue:StringEquals"] = {"kms:ResourceAliases": key}
    elif not key.startswith("arn:"):
        resource = arn("kms", f"key/{key}")
    return [
        statement(
            "UseImageKey",
            [
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
            ],
            [resource],
            condition,
        )
    ]


def roles(spec: FleetSpec, image: BakedImageSection) -> dict[str, Json]:
    tags = {**spec.tags, "runnerfleet:image": image.name}
    execution = iam.role(
        IMAGEBUILDER_TRUST,
        "image-execution",
        execution_statements(image),
        tags_list({**tags, "Name": f"{image.stack}-execution"}),
        "runnerfleet image pipeline (EC2 Image Builder execution role)",
    )
    execution["Properties"]["ManagedPolicyArns"] = [sub(EXECUTION_POLICY)]
    return {
        "BuildRole": iam.role(
            iam.EC2_TRUST,
            "image-build",
            build_statements(image),
            tags_list({**tags, "Name": f"{image.stack}-build"}),
            "runnerfleet image build and test instances",
        ),
        "BuildInstanceProfile": {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {"Roles": [ref("BuildRole")]},
        },
        "ExecutionRole": execution,
    }
