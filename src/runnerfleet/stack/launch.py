"""Instances: security groups, instance profile, launch template, Auto Scaling group, warm pool."""

from __future__ import annotations

from urllib.parse import urlsplit

from runnerfleet.envfile.capacity import SpotSection
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.stack.cfn import (
    ASG_NAME,
    STACK_TAG,
    Json,
    egress_only_group,
    getatt,
    ref,
    sub,
    tags_list,
)
from runnerfleet.stack.userdata import LAUNCH_HOOK, TERMINATE_HOOK

METRICS_PORT = 9252
ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023 and most Linux AMIs


CREATION_TIMEOUT = "PT15M"
SUSPEND_DURING_UPDATE = [
    "AZRebalance",
    "AlarmNotification",
    "HealthCheck",
    "ReplaceUnhealthy",
    "ScheduledActions",
]
GROUP_METRICS = [
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupMaxSize",
    "GroupMinSize",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
]


def instance_tags(spec: FleetSpec) -> dict[str, str | Json]:
    """spec.tags, plus Name and the stack tag that scopes SSM SendCommand to our instances."""
    tags: dict[str, str | Json] = dict(spec.tags)
    tags["Name"] = spec.instances.name
    tags[STACK_TAG] = ref("AWS::StackName")
    return tags


def gitlab_port(spec: FleetSpec) -> int:
    parts = urlsplit(spec.runner.gitlab_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def security_groups(spec: FleetSpec) -> dict[str, Json]:
    """Runners accept one thing: the metrics port, from the autoscaler's group only."""
    vpc = spec.network.vpc_id
    runner_sg = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "GitLab runners: metrics port from the autoscaler only",
            "VpcId": vpc,
            "SecurityGroupIngress": [
                {
                    "Description": "Prometheus metrics, scraped by the autoscaler",
                    "IpProtocol": "tcp",
                    "FromPort": METRICS_PORT,
                    "ToPort": METRICS_PORT,
                    "SourceSecurityGroupId": getatt("AutoscalerSecurityGroup", "GroupId"),
                }
            ],
            "SecurityGroupEgress": [
                {
                    "Description": "CI jobs reach GitLab, registries and package mirrors",
                    "IpProtocol": "-1",
                    "CidrIp": "0.0.0.0/0",
                }
            ],
            "Tags": tags_list({"Name": f"{spec.stack}-runners"}),
        },
    }
    return {
        "RunnerSecurityGroup": runner_sg,
        "AutoscalerSecurityGroup": _autoscaler_sg(spec),
        "AutoscalerToRunnerMetrics": {
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": {
                "Description": "Scrape runner metrics",
                "GroupId": getatt("AutoscalerSecurityGroup", "GroupId"),
                "IpProtocol": "tcp",
                "FromPort": METRICS_PORT,
                "ToPort": METRICS_PORT,
                "DestinationSecurityGroupId": getatt("RunnerSecurityGroup", "GroupId"),
            },
        },
    }


def _autoscaler_sg(spec: FleetSpec) -> Json:
    return egress_only_group(
        spec.network.vpc_id,
        "Autoscaler function: scrapes runners, calls AWS and GitLab",
        sorted({443, gitlab_port(spec)}),
        "AWS APIs and the GitLab API on {port} (through NAT)",
        {"Name": f"{spec.stack}-autoscaler"},
    )


def instance_profile() -> Json:
    return {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [ref("InstanceRole")]}}


def _root_volume(spec: FleetSpec) -> Json:
    vol = spec.instances.volume
    ebs: Json = {
        "DeleteOnTermination": True,
        "Encrypted": vol.encrypted,
        "VolumeSize": vol.size_gb,
        "VolumeType": vol.type,
    }
    if vol.kms_key_id:
        ebs["KmsKeyId"] = vol.kms_key_id
    if vol.iops is not None:
        ebs["Iops"] = vol.iops
    if vol.throughput is not None and vol.type == "gp3":
        ebs["Throughput"] = vol.throughput
    return {"DeviceName": ROOT_DEVICE, "Ebs": ebs}


def launch_template(
    spec: FleetSpec, user_data: Json, name: str = "runner", instance_type: str | None = None
) -> Json:
    """IMDSv2 only; hop limit 1 keeps job containers away from the role's credentials."""
    tags = [{"Key": k, "Value": v} for k, v in sorted(instance_tags(spec).items())]
    data: Json = {
        "ImageId": ref("ImageId"),
        "InstanceType": instance_type or spec.instances.types[0],
        "IamInstanceProfile": {"Arn": getatt("InstanceProfile", "Arn")},
        "MetadataOptions": {
            "HttpEndpoint": "enabled",
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 2 if spec.instances.jobs_use_instance_role else 1,
            "InstanceMetadataTags": "disabled",
        },
        "BlockDeviceMappings": [_root_volume(spec)],
        "NetworkInterfaces": [
            {
                "DeviceIndex": 0,
                "AssociatePublicIpAddress": False,
                "DeleteOnTermination": True,
                "Groups": [getatt("RunnerSecurityGroup", "GroupId")],
            }
        ],
        "Monitoring": {"Enabled": spec.instances.detailed_monitoring},
        "UserData": user_data,
        "TagSpecifications": [
            {"ResourceType": kind, "Tags": tags} for kind in ("network-interface", "volume")
        ],
    }
    return {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {
            "LaunchTemplateName": sub(f"${{AWS::StackName}}-{name}"),
            "LaunchTemplateData": data,
        },
    }


def _uses_mixed(spec: FleetSpec) -> bool:
    return spec.instances.spot is not None or len(spec.instances.types) > 1


def _template_spec(logical_id: str = "LaunchTemplate") -> Json:
    return {
        "LaunchTemplateId": ref(logical_id),
        "Version": getatt(logical_id, "LatestVersionNumber"),
    }


def mixed_policy(
    types: tuple[str, ...], spot: SpotSection | None, template: str = "LaunchTemplate"
) -> Json:
    if spot is None:  # several types, all on-demand, in the order given
        dist: Json = {
            "OnDemandAllocationStrategy": "prioritized",
            "OnDemandBaseCapacity": 0,
            "OnDemandPercentageAboveBaseCapacity": 100,
        }
    else:
        dist = {
            "OnDemandAllocationStrategy": "prioritized",
            "OnDemandBaseCapacity": spot.on_demand_base_capacity,
            "OnDemandPercentageAboveBaseCapacity": spot.on_demand_percentage_above_base,
            "SpotAllocationStrategy": spot.allocation_strategy,
        }
    return {
        "InstancesDistribution": dist,
        "LaunchTemplate": {
            "LaunchTemplateSpecification": _template_spec(template),
            "Overrides": [{"InstanceType": t} for t in types],
        },
    }


def _hooks(spec: FleetSpec) -> list[Json]:
    timeout = spec.drain.heartbeat_timeout_s
    return [
        {
            # An instance goes InService only once its bootstrap verified the runner;
            # a bootstrap that never reports back is abandoned (terminated and replaced).
            "LifecycleHookName": LAUNCH_HOOK,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
            "HeartbeatTimeout": timeout,
            "DefaultResult": "ABANDON",
        },
        {
            # The drain records heartbeats while jobs run; CONTINUE on timeout lets other
            # hooks finish (the instance is terminated either way).
            "LifecycleHookName": TERMINATE_HOOK,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
            "HeartbeatTimeout": timeout,
            "DefaultResult": "CONTINUE",
        },
    ]


def _group_tags(spec: FleetSpec) -> list[Json]:
    return [
        {"Key": k, "Value": v, "PropagateAtLaunch": True}
        for k, v in sorted(instance_tags(spec).items())
    ]


def group_properties(spec: FleetSpec, name: str, sizes: tuple[int, int, int]) -> Json:
    """What both of the fleet's groups share; ``sizes`` is (min, max, desired)."""
    min_size, max_size, desired = sizes
    return {
        "AutoScalingGroupName": sub(name),
        "MinSize": str(min_size),
        "MaxSize": str(max_size),
        "DesiredCapacity": str(desired),
        "Cooldown": str(spec.scaling.cooldown_s),
        "VPCZoneIdentifier": list(spec.network.subnet_ids),
        "HealthCheckType": "EC2",
        "HealthCheckGracePeriod": 60,
        "DefaultInstanceWarmup": 60,
        "LifecycleHookSpecificationList": _hooks(spec),
        "MetricsCollection": [{"Granularity": "1Minute", "Metrics": GROUP_METRICS}],
        "Tags": _group_tags(spec),
    }


MIXED_TERMINATION = ["AllocationStrategy", "OldestLaunchTemplate", "OldestInstance"]


def auto_scaling_group(spec: FleetSpec, depends_on: list[str]) -> Json:
    cap = spec.capacity
    props = group_properties(spec, ASG_NAME, (cap.min, cap.max, cap.initial_desired))
    if _uses_mixed(spec):
        props["MixedInstancesPolicy"] = mixed_policy(spec.instances.types, spec.instances.spot)
        props["TerminationPolicies"] = MIXED_TERMINATION
    else:
        props["LaunchTemplate"] = _template_spec()
        props["TerminationPolicies"] = ["OldestLaunchTemplate", "OldestInstance"]
    if spec.instances.spot is not None:
        props["CapacityRebalance"] = spec.instances.spot.capacity_rebalance
    resource = group_resource(spec, props, depends_on, cap.rolling_update.min_in_service)
    if cap.initial_desired > 0:
        resource["CreationPolicy"] = _creation_policy(cap.initial_desired)
    return resource


def group_resource(
    spec: FleetSpec, props: Json, depends_on: list[str], min_in_service: int
) -> Json:
    """A group resource: ``props`` plus the instance lifetime, its dependencies and updates."""
    if spec.instances.max_lifetime_s:
        props["MaxInstanceLifetime"] = spec.instances.max_lifetime_s
    return {
        "Type": "AWS::AutoScaling::AutoScalingGroup",
        "DependsOn": sorted(depends_on),
        "Properties": props,
        "UpdatePolicy": update_policy(spec, min_in_service),
    }


def _creation_policy(count: int) -> Json:
    """Every instance of the first launch must signal. With desired 0 there is nothing to
    wait for and a CreationPolicy would time out the create, so the caller sets none."""
    return {
        "AutoScalingCreationPolicy": {"MinSuccessfulInstancesPercent": 100},
        "ResourceSignal": {"Count": count, "Timeout": CREATION_TIMEOUT},
    }


def update_policy(spec: FleetSpec, min_in_service: int) -> Json:
    rolling = spec.capacity.rolling_update
    return {
        # The autoscaler owns the desired capacity: a stack update that does not change the
        # group's size in the template must not reset it to the template's initial value.
        "AutoScalingScheduledAction": {"IgnoreUnmodifiedGroupSizeProperties": True},
        "AutoScalingRollingUpdate": {
            "MaxBatchSize": rolling.max_batch_size,
            "MinInstancesInService": min_in_service,
            "PauseTime": rolling.pause_time,
            "SuspendProcesses": SUSPEND_DURING_UPDATE,
            "WaitOnResourceSignals": True,
        },
    }


def warm_pool(spec: FleetSpec) -> dict[str, Json]:
    pool = spec.capacity.warm_pool
    if pool is None:
        return {}
    # A warm pool next to a mixed instances policy is refused when the file is validated
    # (runnerfleet.envfile.warm), with its key and line.
    props: Json = {
        "AutoScalingGroupName": ref("AutoScalingGroup"),
        "MinSize": pool.min_size,
        "PoolState": pool.state,
        "InstanceReusePolicy": {"ReuseOnScaleIn": False},
    }
    if pool.max_prepared is not None:
        props["MaxGroupPreparedCapacity"] = pool.max_prepared
    return {"WarmPool": {"Type": "AWS::AutoScaling::WarmPool", "Properties": props}}
