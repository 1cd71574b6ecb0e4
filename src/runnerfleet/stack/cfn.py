"""Small builders for CloudFormation intrinsics and ARNs, so templates read like data.

Every ARN is built with ``${AWS::Partition}``, ``${AWS::Region}`` and ``${AWS::AccountId}``
so that one template works in any partition and account, and nothing account-specific is
baked in. Names are derived from ``${AWS::StackName}``: two stacks in one account coexist.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

ASG_NAME = "${AWS::StackName}-asg"
OVERFLOW_NAME = "${AWS::StackName}-overflow"  # the spot group behind a warm group
STACK_TAG = "RunnerfleetStack"  # propagated to instances; SendCommand is conditioned on it


def ref(name: str) -> Json:
    return {"Ref": name}


def getatt(resource: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [resource, attribute]}


def sub(text: str, variables: Json | None = None) -> Json:
    return {"Fn::Sub": [text, variables] if variables else text}


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> Json:
    """``arn:${AWS::Partition}:<service>:<region>:<account>:<resource>`` as a Fn::Sub."""
    where = ("${AWS::Region}" if region else "") + ":" + ("${AWS::AccountId}" if account else "")
    return sub(f"arn:${{AWS::Partition}}:{service}:{where}:{resource}")


def asg_name() -> Json:
    return sub(ASG_NAME)


def asg_arn(name: str = ASG_NAME) -> Json:
    return arn("autoscaling", f"autoScalingGroup:*:autoScalingGroupName/{name}")


def ssm_parameter_arn(path: str) -> Json:
    """ARN of an SSM parameter (or, with a trailing ``/*``, of everything below a path)."""
    return arn("ssm", "parameter" + path)


def log_group_arn(logical_id: str) -> Json:
    """Log streams of one log group (the resource that PutLogEvents is authorised on)."""
    return sub(
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}:*",
        {"Group": ref(logical_id)},
    )


def egress_only_group(
    vpc_id: str, description: str, ports: list[int], rule: str, tags: dict[str, str]
) -> Json:
    """A security group nothing connects into; ``rule`` describes each port (``{port}``)."""
    egress = [
        {
            "Description": rule.format(port=port),
            "IpProtocol": "tcp",
            "FromPort": port,
            "ToPort": port,
            "CidrIp": "0.0.0.0/0",
        }
        for port in ports
    ]
    return {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": description,
            "VpcId": vpc_id,
            "SecurityGroupEgress": egress,
            "Tags": tags_list(tags),
        },
    }


def tags_list(tags: dict[str, str]) -> list[Json]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def policy(statements: list[Json]) -> Json:
    return {"Version": "2012-10-17", "Statement": statements}


def statement(
    sid: str, actions: list[str], resources: list[Any] | str, condition: Json | None = None
) -> Json:
    body: Json = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        body["Condition"] = condition
    return body


def checkov_skips(skips: dict[str, str]) -> Json:
    """Resource Metadata that tells checkov which checks are accepted, each with its reason."""
    return {"checkov": {"skip": [{"id": k, "comment": v} for k, v in sorted(skips.items())]}}
