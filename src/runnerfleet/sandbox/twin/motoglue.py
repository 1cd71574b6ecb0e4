"""Everything the twin reads or changes inside moto's backends, in one place (moto is pinned).

- moto's Auto Scaling groups never launch instances of their own: the Auto Scaling model owns
  every group, so moto's records of a stack's groups stay empty (``install``);
- a stack's Auto Scaling group resources, their properties resolved by moto's own template
  engine against the stack's live resources (``stack_groups``);
- launch template versions, subnets' zones, and EC2 instance records for model instances,
  created with the model's instance id and the instance's loopback address (``Ec2Records``).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("runnerfleet.twin.moto")

ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"
WARM_POOL_TYPE = "AWS::AutoScaling::WarmPool"
GONE_STACK_STATES = frozenset({"DELETE_COMPLETE"})


def install() -> None:
    """Keep moto's Auto Scaling groups empty: their instances are the model's."""
    from moto.autoscaling.models import FakeAutoScalingGroup

    def _no_instances(self: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
        return None

    FakeAutoScalingGroup.replace_autoscaling_group_instances = _no_instances  # type: ignore[method-assign]


def _ec2(account: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def _cloudformation(account: str, region: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account][region]


# ----- stacks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StackGroup:
    """One AWS::AutoScaling::AutoScalingGroup of a stack, as the template says it now."""

    logical_id: str
    name: str
    properties: dict[str, Any]  # resolved: Refs, GetAtts, Subs replaced by values
    update_policy: dict[str, Any]
    creation_policy: dict[str, Any]
    warm_pool: dict[str, Any] | None = None  # an AWS::AutoScaling::WarmPool's properties


@dataclass(frozen=True)
class StackView:
    name: str
    stack_id: str
    status: str
    groups: tuple[StackGroup, ...] = field(default=())


def stack_view(account: str, region: str, name_or_id: str) -> StackView | None:
    """The stack's groups, resolved against its live resources; None when it does not exist."""
    backend = _cloudformation(account, region)
    stack = _find_stack(backend, name_or_id)
    if stack is None:
        return None
    if stack.status in GONE_STACK_STATES:
        return StackView(stack.name, stack.stack_id, stack.status)
    return StackView(stack.name, stack.stack_id, stack.status, tuple(_groups(stack)))


def _find_stack(backend: Any, name_or_id: str) -> Any:
    for stack in [*backend.stacks.values(), *backend.deleted_stacks.values()]:
        if name_or_id in (stack.name, stack.stack_id):
            return stack
    return None


def stack_names(account: str, region: str) -> list[str]:
    backend = _cloudformation(account, region)
    return [s.name for s in backend.stacks.values() if s.status not in GONE_STACK_STATES]


def delete_stack(account: str, region: str, name: str) -> None:
    """moto's own DeleteStack, once the twin has drained the stack's groups."""
    _cloudformation(account, region).delete_stack(name)


def _groups(stack: Any) -> list[StackGroup]:
    from moto.cloudformation.parsing import clean_json

    resources: Mapping[str, Any] = stack.resource_map._resource_json_map
    pools = _warm_pools(stack, resources)
    out = []
    for logical, resource in resources.items():
        if resource.get("Type") != ASG_TYPE or stack.resource_map[logical] is None:
            continue
        props = clean_json(resource.get("Properties", {}), stack.resource_map)
        name = str(stack.resource_map[logical].name)
        out.append(
            StackGroup(
                logical_id=logical,
                name=name,
                properties=props,
                update_policy=clean_json(resource.get("UpdatePolicy", {}), stack.resource_map),
                creation_policy=dict(resource.get("CreationPolicy", {})),
                warm_pool=pools.get(name),
            )
        )
    return out


def _warm_pools(stack: Any, resources: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """moto skips AWS::AutoScaling::WarmPool; its properties resolve all the same."""
    from moto.cloudformation.parsing import clean_json

    pools = {}
    for resource in resources.values():
        if resource.get("Type") == WARM_POOL_TYPE:
            props = clean_json(resource.get("Properties", {}), stack.resource_map)
            pools[str(props.get("AutoScalingGroupName"))] = props
    return pools


# ----- EC2 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateVersion:
    template_id: str
    template_name: str
    number: int
    data: dict[str, Any]


class Ec2Records:
    """Launch templates, subnets and instance records in moto's EC2 backend."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    def template_version(self, spec: Mapping[str, Any]) -> TemplateVersion:
        """A LaunchTemplateSpecification (id or name, version) resolved to one version."""
        ec2 = _ec2(self.account, self.region)
        if spec.get("LaunchTemplateId"):
            template = ec2.get_launch_template(spec["LaunchTemplateId"])
        else:
            template = ec2.get_launch_template_by_name(spec.get("LaunchTemplateName"))
        version = template.get_version(spec.get("Version") or "$Default")
        return TemplateVersion(template.id, template.name, int(version.number), dict(version.data))

    def subnet_zones(self, subnet_ids: list[str]) -> dict[str, str]:
        ec2 = _ec2(self.account, self.region)
        return {sid: str(ec2.get_subnet(sid).availability_zone) for sid in subnet_ids}

    def create_instance(self, request: LaunchRecord) -> None:
        """The EC2 record of a model instance: its id, type, tags, subnet, IMDS options."""
        ec2 = _ec2(self.account, self.region)
        data = request.version.data
        reservation = ec2.run_instances(
            data.get("ImageId") or "ami-00000000000000000",
            1,
            data.get("UserData"),
            [],
            instance_type=request.instance_type,
            is_instance_type_default=False,
            placement=request.zone,
            subnet_id=request.subnet_id,
            launch_template={"LaunchTemplateId": request.version.template_id},
            metadata_options=data.get("MetadataOptions", {}),
            security_group_ids=_groups_of(data),
        )
        instance = reservation.instances[0]
        instance.id = request.instance_id
        ec2.create_tags([instance.id], request.tags)
        set_address(instance, request.address)
        _associate_profile(ec2, instance.id, data)

    def terminate_instance(self, instance_id: str) -> None:
        ec2 = _ec2(self.account, self.region)
        try:
            ec2.terminate_instances([instance_id])
        except Exception:  # already gone: nothing to do
            log.info("no EC2 record to terminate for %s", instance_id)

    def instances(self) -> list[Any]:
        return list(_ec2(self.account, self.region).all_instances())


@dataclass(frozen=True)
class LaunchRecord:
    instance_id: str
    version: TemplateVersion
    instance_type: str
    subnet_id: str
    zone: str
    tags: dict[str, str]
    address: str


def user_data(version: TemplateVersion) -> str:
    raw = str(version.data.get("UserData") or "")  # moto keeps a str subclass
    try:
        return base64.b64decode(raw.encode()).decode("utf-8", "replace")
    except ValueError:
        return str(raw)


def set_address(instance: Any, address: str) -> None:
    """Replace moto's private address (and DNS name) of an instance by its loopback one."""
    for nic in instance.nics.values():
        if nic.device_index != 0:
            continue
        nic.private_ip_address = address
        nic.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": address}]
        dns = "ip-" + address.replace(".", "-") + ".ec2.internal"
        nic.private_dns_name = dns
        nic.private_ip_addresses[0]["PrivateDnsName"] = dns


def _associate_profile(ec2: Any, instance_id: str, data: Mapping[str, Any]) -> None:
    profile = data.get("IamInstanceProfile") or {}
    try:
        if profile.get("Arn"):
            ec2.associate_iam_instance_profile(instance_id, iam_instance_profile_arn=profile["Arn"])
        elif profile.get("Name"):
            ec2.associate_iam_instance_profile(
                instance_id, iam_instance_profile_name=profile["Name"]
            )
    except Exception:  # a profile moto does not know: the record goes without it
        log.info("instance profile %s not found for %s", profile, instance_id)


def _groups_of(data: Mapping[str, Any]) -> list[str]:
    groups = list(data.get("SecurityGroupIds") or [])
    for nic in data.get("NetworkInterfaces") or []:
        groups.extend(nic.get("Groups") or [])
    return groups
