"""A fake AWS answering boto3 on the wire, in process: one Auto Scaling group of N instances.

Hooked into botocore's ``before-send`` event, it answers each request with the XML (or JSON)
body the real service would send, so botocore serialises every request and parses every
response as it does against AWS; no socket is opened. It checks the limits AWS enforces (at
most 50 ids per SetInstanceProtection, 1,000 per CreateTags/DeleteTags) and records every
call. Stateless: each evaluation sees the same fleet. Responses are cached by request body,
so after the first evaluation the fake costs a dictionary lookup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import boto3
from botocore.awsrequest import AWSResponse

from runnerfleet.aws.clients import AwsTarget, ClientFactory

ASG_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
CFN_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
JSON_TYPE = "application/x-amz-json-1.0"
LIMITS = {"SetInstanceProtection": 50, "CreateTags": 1000, "DeleteTags": 1000}
LAUNCHED = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class WireInstance:
    instance_id: str
    private_ip: str
    idle_since: float | None = None
    protected: bool = False
    state: str = "InService"


@dataclass
class AwsWire:
    """The group ``group`` with ``instances``; ``calls`` lists (action, ids in the request)."""

    group: str
    instances: list[WireInstance]
    max_size: int
    calls: list[tuple[str, int]] = field(default_factory=list)
    _cache: dict[bytes, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)

    def factory(self, region: str = "eu-west-1") -> ClientFactory:
        """A ClientFactory whose clients talk to this fake (the endpoint is never dialled)."""
        session = boto3.session.Session(
            aws_access_key_id="wire", aws_secret_access_key="wire", region_name=region
        )
        session.events.register("before-send", self._answer)
        return ClientFactory(AwsTarget(region, endpoint_url="http://127.0.0.1:9"), session)

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        target = _header(request, "X-Amz-Target")
        if target:  # a JSON-protocol call (CloudWatch's PutMetricData): an empty object
            self.calls.append((target.decode().rsplit(".", 1)[-1], 0))
            return _response(request.url, 200, b"{}", {"Content-Type": JSON_TYPE})
        params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        action = params.get("Action", "")
        ids = sum(1 for k in params if k.startswith(("InstanceIds.", "InstanceId.", "ResourceId.")))
        self.calls.append((action, ids))
        if ids > LIMITS.get(action, 10**9):
            return _response(request.url, 400, _error(action, ids), {})
        if body not in self._cache:
            self._cache[body] = (200, self._render(action, params), {})
        status, payload, headers = self._cache[body]
        return _response(request.url, status, payload, headers)

    def _render(self, action: str, params: dict[str, str]) -> bytes:
        renderers: dict[str, Callable[[dict[str, str]], str]] = {
            "DescribeAutoScalingGroups": self._groups,
            "DescribeInstances": self._ec2_instances,
            "DescribeStacks": lambda _p: _stacks(self.group),
        }
        render = renderers.get(action, lambda _p: _empty(action, _namespace(action)))
        return render(params).encode()

    def _groups(self, _params: dict[str, str]) -> str:
        members = "".join(_asg_member(i) for i in self.instances)
        group = (
            f"<member><AutoScalingGroupName>{self.group}</AutoScalingGroupName>"
            f"<MinSize>0</MinSize><MaxSize>{self.max_size}</MaxSize>"
            f"<DesiredCapacity>{len(self.instances)}</DesiredCapacity>"
            "<DefaultCooldown>300</DefaultCooldown><HealthCheckType>EC2</HealthCheckType>"
            "<AvailabilityZones><member>eu-west-1a</member></AvailabilityZones>"
            f"<CreatedTime>{LAUNCHED.isoformat()}</CreatedTime>"
            f"<Instances>{members}</Instances><Tags></Tags></member>"
        )
        return _query_response(
            "DescribeAutoScalingGroups", ASG_NS, f"<AutoScalingGroups>{group}</AutoScalingGroups>"
        )

    def _ec2_instances(self, params: dict[str, str]) -> str:
        wanted = {v for k, v in params.items() if k.startswith("InstanceId.")}
        items = "".join(_ec2_item(i) for i in self.instances if i.instance_id in wanted)
        return (
            f'<DescribeInstancesResponse xmlns="{EC2_NS}"><requestId>r</requestId>'
            "<reservationSet><item><reservationId>r-0</reservationId><ownerId>123456789012"
            f"</ownerId><instancesSet>{items}</instancesSet></item></reservationSet>"
            "</DescribeInstancesResponse>"
        )


def fleet_of(n: int, group: str = "fleet-asg", idle_old: float | None = None) -> AwsWire:
    """``n`` InService instances on 127.77.x.y (as the fake runner fleet serves them); when
    ``idle_old`` is given, every tenth instance carries that idle-since time."""
    instances = [
        WireInstance(
            instance_id=f"i-{i:017x}",
            private_ip=f"127.77.{i // 250}.{i % 250 + 1}",
            idle_since=idle_old if idle_old is not None and i % 10 == 0 else None,
        )
        for i in range(n)
    ]
    return AwsWire(group, instances, max_size=2 * n)


def _asg_member(inst: WireInstance) -> str:
    return (
        f"<member><InstanceId>{inst.instance_id}</InstanceId><InstanceType>m7g.large"
        "</InstanceType><AvailabilityZone>eu-west-1a</AvailabilityZone>"
        f"<LifecycleState>{inst.state}</LifecycleState><HealthStatus>Healthy</HealthStatus>"
        "<LaunchTemplate><LaunchTemplateId>lt-0123456789abcdef0</LaunchTemplateId>"
        "<LaunchTemplateName>fleet</LaunchTemplateName><Version>3</Version></LaunchTemplate>"
        f"<ProtectedFromScaleIn>{str(inst.protected).lower()}</ProtectedFromScaleIn></member>"
    )


def _ec2_item(inst: WireInstance) -> str:
    tags = [("aws:autoscaling:groupName", "fleet-asg"), ("Name", "fleet-runner")]
    if inst.idle_since is not None:
        tags.append(("runnerfleet:idle-since", f"{inst.idle_since:.0f}"))
    tag_set = "".join(f"<item><key>{k}</key><value>{v}</value></item>" for k, v in tags)
    return (
        f"<item><instanceId>{inst.instance_id}</instanceId><imageId>ami-0123456789abcdef0"
        "</imageId><instanceState><code>16</code><name>running</name></instanceState>"
        f"<privateDnsName>ip-{inst.private_ip.replace('.', '-')}.eu-west-1.compute.internal"
        f"</privateDnsName><privateIpAddress>{inst.private_ip}</privateIpAddress>"
        "<instanceType>m7g.large</instanceType>"
        f"<launchTime>{LAUNCHED.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</launchTime>"
        "<placement><availabilityZone>eu-west-1a</availabilityZone><tenancy>default</tenancy>"
        "</placement><subnetId>subnet-0123456789abcdef0</subnetId><vpcId>vpc-0123456789abcdef0"
        "</vpcId><architecture>arm64</architecture><rootDeviceType>ebs</rootDeviceType>"
        "<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping><item><deviceName>"
        "/dev/xvda</deviceName><ebs><volumeId>vol-0123456789abcdef0</volumeId><status>attached"
        "</status><deleteOnTermination>true</deleteOnTermination></ebs></item>"
        "</blockDeviceMapping><groupSet><item><groupId>sg-0123456789abcdef0</groupId>"
        "<groupName>fleet-runners</groupName></item></groupSet>"
        f"<networkInterfaceSet>{_eni(inst)}</networkInterfaceSet>"
        "<iamInstanceProfile><arn>arn:aws:iam::123456789012:instance-profile/fleet</arn>"
        "<id>AIPA0123456789EXAMPLE</id></iamInstanceProfile><metadataOptions><state>applied"
        "</state><httpTokens>required</httpTokens><httpPutResponseHopLimit>2"
        "</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions>"
        f"<tagSet>{tag_set}</tagSet></item>"
    )


def _eni(inst: WireInstance) -> str:
    """One network interface, as every VPC instance has (a good part of a real answer)."""
    return (
        "<item><networkInterfaceId>eni-0123456789abcdef0</networkInterfaceId><subnetId>"
        "subnet-0123456789abcdef0</subnetId><vpcId>vpc-0123456789abcdef0</vpcId><ownerId>"
        "123456789012</ownerId><status>in-use</status><macAddress>02:00:00:00:00:01"
        f"</macAddress><privateIpAddress>{inst.private_ip}</privateIpAddress>"
        "<sourceDestCheck>true</sourceDestCheck><groupSet><item><groupId>sg-0123456789abcdef0"
        "</groupId><groupName>fleet-runners</groupName></item></groupSet><attachment>"
        "<attachmentId>eni-attach-0123456789abcdef0</attachmentId><deviceIndex>0</deviceIndex>"
        "<status>attached</status><deleteOnTermination>true</deleteOnTermination></attachment>"
        f"<privateIpAddressesSet><item><privateIpAddress>{inst.private_ip}</privateIpAddress>"
        "<primary>true</primary></item></privateIpAddressesSet></item>"
    )


def _stacks(group: str) -> str:
    stack = (
        f"<member><StackName>{group}-stack</StackName><StackId>arn:aws:cloudformation:"
        f"eu-west-1:123456789012:stack/{group}/1</StackId><CreationTime>"
        f"{LAUNCHED.isoformat()}</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus></member>"
    )
    return _query_response("DescribeStacks", CFN_NS, f"<Stacks>{stack}</Stacks>")


def _namespace(action: str) -> str:
    return EC2_NS if action in ("CreateTags", "DeleteTags") else ASG_NS


def _empty(action: str, namespace: str) -> str:
    if namespace == EC2_NS:
        return f'<{action}Response xmlns="{EC2_NS}"><requestId>r</requestId><return>true</return></{action}Response>'  # noqa: E501
    return _query_response(action, namespace, "")


def _query_response(action: str, namespace: str, result: str) -> str:
    return (
        f'<{action}Response xmlns="{namespace}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    )


def _error(action: str, ids: int) -> bytes:
    message = f"{action}: {ids} ids, more than AWS allows"
    if _namespace(action) == EC2_NS:
        return (
            "<Response><Errors><Error><Code>InvalidParameterValue</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>r</RequestID></Response>"
        ).encode()
    return (
        f'<ErrorResponse xmlns="{ASG_NS}"><Error><Type>Sender</Type><Code>ValidationError'
        f"</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    ).encode()


def _response(url: str, status: int, body: bytes, headers: dict[str, str]) -> AWSResponse:
    raw = _Raw(body)
    return AWSResponse(url, status, headers, raw)


class _Raw:
    """The raw stream botocore reads a canned body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def _header(request: Any, name: str) -> bytes:
    value = request.headers.get(name, b"")
    return value if isinstance(value, bytes) else str(value).encode()
