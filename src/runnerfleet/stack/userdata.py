"""Adapters from the FleetSpec to the instance scripts: bootstrap user data, SSM documents.

The scripts themselves are rendered by ``runnerfleet.stack.bootstrap`` and
``runnerfleet.stack.drain_document``; this module only maps spec fields to their settings.
Names the scripts need (group, log groups) are literal and derived from the stack name, the same
way the template derives them from ``${AWS::StackName}``: the deploy engine always deploys a
spec under ``spec.stack``.
"""

from __future__ import annotations

from dataclasses import replace

from runnerfleet.drain.types import DrainLimits
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SpecError
from runnerfleet.stack.bootstrap import render_user_data
from runnerfleet.stack.cfn import Json, sub, tags_list
from runnerfleet.stack.drain_document import render_drain_document
from runnerfleet.stack.instance_settings import (
    DEFAULT_DOWNLOAD_URL,
    BootstrapSettings,
    DockerSettings,
    DrainSettings,
    Registration,
)

ASG_LOGICAL_ID = "AutoScalingGroup"
OVERFLOW_LOGICAL_ID = "OverflowGroup"
LAUNCH_HOOK = "runnerfleet-launch"
TERMINATE_HOOK = "runnerfleet-terminate"
DRAIN_NAMESPACE = "Runnerfleet"  # drain and spot handlers, and the spot watcher on instances
SPOT_COMMANDS = [
    # Stop taking jobs now (the unit's SIGQUIT drop-in lets running jobs go on), then list them.
    "systemctl stop --no-block gitlab-runner",
    "curl -fsS --max-time 3 http://127.0.0.1:9252/debug/jobs/list || true",
]


def asg_name(spec: FleetSpec) -> str:
    return f"{spec.stack}-asg"


def overflow_name(spec: FleetSpec) -> str:
    """The spot group behind the warm group (``capacity.overflow``)."""
    return f"{spec.stack}-overflow"


def log_group_names(spec: FleetSpec) -> dict[str, str]:
    """Instance-side log groups: logical id -> name."""
    base = f"/runnerfleet/{spec.stack}"
    return {
        "BootstrapLogGroup": f"{base}/bootstrap",
        "RunnerLogGroup": f"{base}/runner",
        "DrainLogGroup": f"{base}/drain",
    }


def bootstrap_settings(spec: FleetSpec) -> BootstrapSettings:
    runner = spec.runner
    if runner.sha256 is None:
        raise SpecError(
            "runner.sha256 is not set: the bootstrap installs gitlab-runner only after "
            "checking its SHA-256",
            hint=f"add runner.sha256: the published checksum of gitlab-runner {runner.version} "
            "linux-amd64 (release.sha256 next to the binary)",
        )
    logs = log_group_names(spec)
    return BootstrapSettings(
        stack_name=spec.stack,
        gitlab_url=runner.gitlab_url,
        runner_version=runner.version,
        runner_sha256=runner.sha256,
        download_url=runner.download_url or DEFAULT_DOWNLOAD_URL,
        docker=_docker(spec),
        registrations=_registrations(spec),
        asg_name=asg_name(spec),
        bootstrap_log_group=logs["BootstrapLogGroup"],
        runner_log_group=logs["RunnerLogGroup"],
        launch_hook_name=LAUNCH_HOOK,
        concurrent=runner.concurrent,
        check_interval=runner.check_interval,
        shutdown_timeout=runner.shutdown_timeout,
        region=spec.aws.region,
        signal_cloudformation=True,
        cfn_resource=ASG_LOGICAL_ID,
        spot_watch=spec.instances.spot is not None,
        warm_pool=spec.capacity.warm_pool is not None,
        metric_namespace=DRAIN_NAMESPACE,
        environment=spec.name,
    )


def _docker(spec: FleetSpec) -> DockerSettings:
    d = spec.runner.docker
    return DockerSettings(
        image=d.image,
        privileged=d.privileged,
        volumes=d.volumes,
        pull_policy=d.pull_policy,
        allowed_images=d.allowed_images,
        memory=d.memory,
        cpus=d.cpus,
    )


def _registrations(spec: FleetSpec) -> tuple[Registration, ...]:
    return tuple(
        Registration(
            name=r.name,
            token_parameter=spec.token_parameter(r),
            tags=r.tags,
            run_untagged=r.run_untagged,
            locked=r.locked,
            access_level=r.access_level,
            maximum_timeout=r.maximum_timeout,
        )
        for r in spec.registrations
    )


def user_data(spec: FleetSpec) -> Json:
    return {"Fn::Base64": render_user_data(bootstrap_settings(spec))}


def overflow_bootstrap_settings(spec: FleetSpec) -> BootstrapSettings:
    """The same bootstrap for the spot group: its own group's hook and signal, the spot
    watcher, no warm pool."""
    return replace(
        bootstrap_settings(spec),
        asg_name=overflow_name(spec),
        cfn_resource=OVERFLOW_LOGICAL_ID,
        spot_watch=True,
        warm_pool=False,
    )


def overflow_user_data(spec: FleetSpec) -> Json:
    return {"Fn::Base64": render_user_data(overflow_bootstrap_settings(spec))}


def drain_settings(spec: FleetSpec) -> DrainSettings:
    """The document's defaults are what the lifecycle function passes: the drain policy's."""
    limits = drain_limits(spec)
    return DrainSettings(
        asg_name=asg_name(spec),
        terminate_hook_name=TERMINATE_HOOK,
        max_drain_seconds=int(limits.drain_budget_s),
        heartbeat_seconds=int(limits.heartbeat_every_s),
        heartbeat_timeout_seconds=spec.drain.heartbeat_timeout_s,
    )


def drain_limits(spec: FleetSpec) -> DrainLimits:
    return DrainLimits(
        heartbeat_timeout_s=spec.drain.heartbeat_timeout_s, max_drain_s=spec.drain.max_drain_s
    )


def _document(name_suffix: str, content: Json, spec: FleetSpec) -> Json:
    return {
        "Type": "AWS::SSM::Document",
        "Properties": {
            "Name": sub(f"${{AWS::StackName}}-{name_suffix}"),
            "DocumentType": "Command",
            "DocumentFormat": "JSON",
            # A custom-named document cannot be replaced; content changes add a version.
            "UpdateMethod": "NewVersion",
            "Content": content,
            "Tags": tags_list(dict(spec.tags)),
        },
    }


def drain_document(spec: FleetSpec) -> Json:
    return _document("drain", render_drain_document(drain_settings(spec)), spec)


def spot_document(spec: FleetSpec) -> Json:
    """No parameters: the spot handler may run it on our instances and nothing else."""
    content = {
        "schemaVersion": "2.2",
        "description": "runnerfleet: spot notice; stop taking jobs now and list running jobs.",
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "StopTakingJobs",
                "inputs": {"timeoutSeconds": "60", "runCommand": SPOT_COMMANDS},
            }
        ],
    }
    return _document("spot", content, spec)
