"""Which functions a fleet gets, their environment, roles, rules and permissions.

Environment variable names are the handlers' own (documented at the top of each
``runnerfleet/handlers/*.py``): the stack sets them, the handler reads them.
"""

from __future__ import annotations

import json

from runnerfleet.drain.types import GIVE_UP_CAP_S
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SpecError
from runnerfleet.scaling import metric_names
from runnerfleet.stack import iam
from runnerfleet.stack.cfn import ASG_NAME, OVERFLOW_NAME, Json, ref, sub, tags_list
from runnerfleet.stack.functions import (
    Function,
    dead_letter_queue,
    function_resources,
    permission,
    rule,
    webhook_url,
)
from runnerfleet.stack.launch import METRICS_PORT
from runnerfleet.stack.overflow import uses_spot
from runnerfleet.stack.userdata import (
    DRAIN_NAMESPACE,
    OVERFLOW_LOGICAL_ID,
    TERMINATE_HOOK,
    asg_name,
    overflow_name,
)

# the handler tries an unreachable instance for at most GIVE_UP_CAP_S, then ABANDONs and saves
LIFECYCLE_TIMEOUT_S = int(GIVE_UP_CAP_S) + 60
SPOT_TIMEOUT_S = 240  # the spot handler waits for the interruption before retrying jobs
WEBHOOK_RESERVED = 2  # a public URL: cap what a flood can cost and take from the account


def _common(spec: FleetSpec) -> dict[str, object]:
    return {"RUNNERFLEET_FLEET": spec.stack, "RUNNERFLEET_GROUP": asg_name(spec)}


def _token_in_ssm(spec: FleetSpec) -> bool:
    token = spec.runner.gitlab_token
    return token is not None and bool(token.ssm_parameter)


def _gitlab(spec: FleetSpec) -> dict[str, object]:
    env: dict[str, object] = {"RUNNERFLEET_GITLAB_URL": spec.runner.gitlab_url}
    token = spec.runner.gitlab_token
    if token is not None and token.ssm_parameter:
        env["RUNNERFLEET_GITLAB_TOKEN_PARAMETER"] = token.ssm_parameter
    return env


def scaling_settings(spec: FleetSpec) -> dict[str, object]:
    """The autoscaler's policy settings (``RUNNERFLEET_SCALING``); no secrets: the webhook is
    left out. The one builder: the template, the CLI and the sandbox all use it."""
    scaling = spec.scaling.model_dump(mode="json", exclude={"webhook"})
    regs = spec.registrations
    return {
        "scaling": scaling,
        "concurrent": spec.runner.concurrent,
        "tags": sorted({t for r in regs for t in r.tags}),
        # GitLab lists pending jobs per project: the queue policy reads these projects.
        "projects": sorted({r.project_id for r in regs if r.project_id is not None}),
        "run_untagged": any(r.run_untagged for r in regs),
    }


def autoscaler(spec: FleetSpec) -> Function:
    env = {
        **_common(spec),
        **_gitlab(spec),
        "RUNNERFLEET_GROUP": ref("AutoScalingGroup"),  # deleted before the group: see template
        "RUNNERFLEET_METRIC_NAMESPACE": metric_names.NAMESPACE,
        "RUNNERFLEET_METRICS_PORT": str(METRICS_PORT),
        "RUNNERFLEET_SCALING": json.dumps(
            scaling_settings(spec), sort_keys=True, separators=(",", ":")
        ),
    }
    if spec.capacity.overflow is not None:  # the spot group grows for what the warm one cannot
        env["RUNNERFLEET_OVERFLOW_GROUP"] = ref(OVERFLOW_LOGICAL_ID)
    return Function(
        key="Autoscaler",
        suffix="autoscaler",
        description="runnerfleet: scrape runners, read the queue, resize the group",
        timeout=50,  # below the 1-minute schedule, so runs never overlap
        memory=512,
        environment=env,
        reserved=1,
        vpc=True,
    )


def autoscaler_environment(spec: FleetSpec) -> dict[str, str]:
    """The autoscaler function's environment as the deployed function sees it (the group's
    name resolved): ``runnerfleet autoscale`` and the sandbox run with exactly this."""
    env = {key: str(value) for key, value in autoscaler(spec).environment.items()}
    env["RUNNERFLEET_GROUP"] = asg_name(spec)
    if spec.capacity.overflow is not None:
        env["RUNNERFLEET_OVERFLOW_GROUP"] = overflow_name(spec)
    return env


def lifecycle(spec: FleetSpec) -> Function:
    env = {
        **_common(spec),
        "RUNNERFLEET_DRAIN_DOCUMENT": ref("DrainDocument"),
        "RUNNERFLEET_RECORD_PREFIX": spec.ssm_path + iam.ACTION_RECORDS_SUFFIX,
        "RUNNERFLEET_METRIC_NAMESPACE": DRAIN_NAMESPACE,
        "RUNNERFLEET_HEARTBEAT_TIMEOUT_S": str(spec.drain.heartbeat_timeout_s),
        "RUNNERFLEET_MAX_DRAIN_S": str(spec.drain.max_drain_s),
        "RUNNERFLEET_COMMAND_LOG_GROUP": ref("DrainLogGroup"),
    }
    if spec.capacity.overflow is not None:  # both groups' events: the rule names both
        del env["RUNNERFLEET_GROUP"]
    return Function(
        key="Lifecycle",
        suffix="lifecycle",
        description="runnerfleet: terminate lifecycle action -> drain document (Run Command)",
        timeout=LIFECYCLE_TIMEOUT_S,
        memory=256,
        environment=env,
    )


def spot(spec: FleetSpec) -> Function:
    # Retrying lost jobs needs the GitLab token at run time, i.e. in SSM (an operator-side
    # environment variable does not reach the function).
    retry = spec.drain.retry_lost_jobs and _token_in_ssm(spec)
    env = {
        **_common(spec),
        "RUNNERFLEET_SPOT_DOCUMENT": ref("SpotDocument"),
        "RUNNERFLEET_GROUP": _spot_group(spec),
        "RUNNERFLEET_RECORD_PREFIX": spec.ssm_path + iam.ACTION_RECORDS_SUFFIX,
        "RUNNERFLEET_METRIC_NAMESPACE": DRAIN_NAMESPACE,
        "RUNNERFLEET_RETRY_LOST_JOBS": "1" if retry else "0",
        "RUNNERFLEET_COMMAND_LOG_GROUP": ref("DrainLogGroup"),
    }
    if retry:
        env.update(_gitlab(spec))
    return Function(
        key="Spot",
        suffix="spot",
        description="runnerfleet: spot interruption or rebalance -> stop taking jobs",
        timeout=SPOT_TIMEOUT_S,
        memory=256,
        environment=env,
    )


def _spot_group(spec: FleetSpec) -> str:
    """The group whose instances can be spot: the overflow group when there is one."""
    return asg_name(spec) if spec.capacity.overflow is None else overflow_name(spec)


def webhook_secret(spec: FleetSpec) -> str | None:
    hook = spec.scaling.webhook
    if hook is None:
        return None
    if not hook.secret.ssm_parameter:
        raise SpecError(
            "scaling.webhook.secret must name an SSM parameter: the webhook function reads it",
            hint="store the secret with `aws ssm put-parameter --type SecureString` and set "
            "scaling.webhook.secret.ssm_parameter",
        )
    return hook.secret.ssm_parameter


def webhook(spec: FleetSpec, secret: str) -> Function:
    env: dict[str, object] = {
        "RUNNERFLEET_FLEET": spec.stack,
        "RUNNERFLEET_WEBHOOK_SECRET_PARAMETER": secret,
        "RUNNERFLEET_AUTOSCALER_FUNCTION": ref("AutoscalerFunction"),
    }
    return Function(
        key="Webhook",
        suffix="webhook",
        description="runnerfleet: GitLab job events (X-Gitlab-Token checked) -> evaluate now",
        timeout=10,
        memory=256,
        environment=env,
        reserved=WEBHOOK_RESERVED,
        dead_letter=False,
    )


def _role(spec: FleetSpec, key: str, statements: list[Json], what: str) -> Json:
    tags = tags_list({**spec.tags, "Name": f"{spec.stack}-{key.lower()}"})
    return iam.role(iam.LAMBDA_TRUST, key.lower(), statements, tags, f"runnerfleet {what}")


def function_stack(spec: FleetSpec) -> dict[str, Json]:
    """Every function with its role, log group, trigger and permission, plus the DLQ."""
    out: dict[str, Json] = {}
    secret = webhook_secret(spec)
    for fn, statements in _functions(spec, secret):
        out[f"{fn.key}Role"] = _role(spec, fn.key, statements, f"{fn.suffix} function")
        out.update(function_resources(spec, fn))
    out.update(_triggers(spec))
    if secret is not None:
        out.update(webhook_url())
    return out


def _functions(spec: FleetSpec, secret: str | None) -> list[tuple[Function, list[Json]]]:
    """The functions this environment needs, each with its role's statements."""
    dlq = "DeadLetterQueue"
    fns = [
        (
            autoscaler(spec),
            iam.autoscaler_statements(
                spec, metric_names.NAMESPACE, "AutoscalerSecurityGroup", "AutoscalerLogGroup", dlq
            ),
        ),
        (
            lifecycle(spec),
            iam.lifecycle_statements(
                spec, DRAIN_NAMESPACE, "DrainDocument", "LifecycleLogGroup", dlq
            ),
        ),
    ]
    if uses_spot(spec):
        statements = iam.spot_statements(spec, DRAIN_NAMESPACE, "SpotDocument", "SpotLogGroup", dlq)
        fns.append((spot(spec), statements))
    if secret is not None:
        statements = iam.webhook_statements(spec, secret, "AutoscalerFunction", "WebhookLogGroup")
        fns.append((webhook(spec, secret), statements))
    return fns


def _triggers(spec: FleetSpec) -> dict[str, Json]:
    out: dict[str, Json] = {
        "AutoscalerSchedule": rule(
            "runnerfleet: evaluate the fleet",
            "Autoscaler",
            schedule=spec.scaling.interval,
            max_age_s=60,  # a missed tick is replaced by the next one
            retries=0,
            dead_letter=False,
        ),
        "AutoscalerPermission": permission("Autoscaler", "AutoscalerSchedule"),
        "LifecycleRule": rule(
            "runnerfleet: drain instances before they terminate",
            "Lifecycle",
            pattern={
                "source": ["aws.autoscaling"],
                "detail-type": ["EC2 Instance-terminate Lifecycle Action"],
                "detail": {
                    "AutoScalingGroupName": [sub(name) for name in _group_names(spec)],
                    "LifecycleHookName": [TERMINATE_HOOK],
                },
            },
        ),
        "LifecyclePermission": permission("Lifecycle", "LifecycleRule"),
    }
    rules = ["LifecycleRule"]
    if uses_spot(spec):
        out.update(_spot_trigger())
        rules.append("SpotRule")
    out.update(dead_letter_queue(rules, retain=spec.production))
    return out


def _group_names(spec: FleetSpec) -> list[str]:
    return [ASG_NAME] if spec.capacity.overflow is None else [ASG_NAME, OVERFLOW_NAME]


def _spot_trigger() -> dict[str, Json]:
    return {
        "SpotRule": rule(
            "runnerfleet: spot notices (the handler keeps only this group's instances)",
            "Spot",
            pattern={
                "source": ["aws.ec2"],
                "detail-type": [
                    "EC2 Instance Rebalance Recommendation",
                    "EC2 Spot Instance Interruption Warning",
                ],
            },
            max_age_s=120,  # a spot notice is worthless after two minutes
            retries=3,
        ),
        "SpotPermission": permission("Spot", "SpotRule"),
    }
