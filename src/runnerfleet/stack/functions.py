"""Lambda functions, their log groups, EventBridge rules and invoke permissions.

Code comes from the packaged artefact in S3 (``CodeKey`` parameter, content-addressed by the
deploy engine), never inline. Each function has its own role, its own log group with the
environment's retention, and only the permissions its handler uses (see iam.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runnerfleet.envfile.models import FleetSpec
from runnerfleet.stack.cfn import Json, checkov_skips, getatt, ref, sub, tags_list

RUNTIME = "python3.12"

WHY_NO_VPC = (
    "calls only AWS APIs (and GitLab over HTTPS); outside the VPC it needs no ENI "
    "permissions and no NAT; only the autoscaler reaches the runners"
)
WHY_SHARED_POOL = (
    "event-driven per instance; a reservation would cut the account's unreserved pool and "
    "throttle drains; EventBridge retries throttled invocations"
)
WHY_ENV_KEY = "environment holds resource names and settings only, no secret; AWS-managed key"
WHY_NO_DLQ_SYNC = "invoked synchronously through its function URL; a DLQ applies to async only"
WHY_LOG_KEY = (
    "logs.kms_key_arn is not set: CloudWatch Logs encrypts at rest with its service key; "
    "set logs.kms_key_arn for a customer-managed key"
)


# Explicit, and deliberate: the names are fixed (the instance scripts know them), so a retained
# log group would make the next create of the same stack fail with AlreadyExists. Retention
# (logs.retention_days) bounds what is kept while the stack lives.
DELETE_WITH_STACK: Json = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
# Production keeps its logs and undelivered events past a destroy (an audit trail); `destroy`
# says where they remain, and re-creating the same stack needs them deleted first.
RETAIN: Json = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def deletion_policy(production: bool) -> Json:
    return dict(RETAIN if production else DELETE_WITH_STACK)


@dataclass(frozen=True)
class Function:
    """One Lambda function: logical id prefix, handler module, limits, environment."""

    key: str  # Autoscaler, Lifecycle, Spot, Webhook
    suffix: str  # function name: <stack>-<suffix>
    description: str
    timeout: int
    memory: int
    environment: dict[str, object]
    reserved: int | None = None
    vpc: bool = False
    dead_letter: bool = True
    depends_on: tuple[str, ...] = ()
    skips: dict[str, str] = field(default_factory=dict)

    @property
    def handler(self) -> str:
        return f"runnerfleet.handlers.{self.suffix}.handler"

    @property
    def name(self) -> Json:
        return sub(f"${{AWS::StackName}}-{self.suffix}")

    @property
    def log_group_name(self) -> Json:
        return sub(f"/aws/lambda/${{AWS::StackName}}-{self.suffix}")


def log_group(spec: FleetSpec, name: Json) -> Json:
    props: Json = {"LogGroupName": name, "RetentionInDays": spec.logs.retention_days}
    resource: Json = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": props,
        **deletion_policy(spec.production),
    }
    if spec.logs.kms_key_arn:
        props["KmsKeyId"] = spec.logs.kms_key_arn
    else:
        resource["Metadata"] = checkov_skips({"CKV_AWS_158": WHY_LOG_KEY})
    return resource


def function_resources(spec: FleetSpec, fn: Function) -> dict[str, Json]:
    """The function and its log group (created first, so Lambda never creates it itself)."""
    props: Json = {
        "FunctionName": fn.name,
        "Description": fn.description,
        "Runtime": RUNTIME,
        "Handler": fn.handler,
        # The artefact is pure Python (the packager refuses compiled extensions), so it runs
        # on Graviton, which costs less per GB-second.
        "Architectures": ["arm64"],
        "Role": getatt(f"{fn.key}Role", "Arn"),
        "Code": {"S3Bucket": spec.artifacts.bucket, "S3Key": ref("CodeKey")},
        "Timeout": fn.timeout,
        "MemorySize": fn.memory,
        "Environment": {"Variables": fn.environment},
        "Tags": tags_list({**spec.tags, "Name": f"{spec.stack}-{fn.suffix}"}),
    }
    skips = {"CKV_AWS_173": WHY_ENV_KEY, **fn.skips}
    if fn.reserved is not None:
        props["ReservedConcurrentExecutions"] = fn.reserved
    else:
        skips["CKV_AWS_115"] = WHY_SHARED_POOL
    if fn.vpc:
        props["VpcConfig"] = {
            "SecurityGroupIds": [getatt("AutoscalerSecurityGroup", "GroupId")],
            "SubnetIds": list(spec.network.subnet_ids),
        }
    else:
        skips["CKV_AWS_117"] = WHY_NO_VPC
    if fn.dead_letter:
        props["DeadLetterConfig"] = {"TargetArn": getatt("DeadLetterQueue", "Arn")}
    else:
        skips["CKV_AWS_116"] = WHY_NO_DLQ_SYNC
    resource: Json = {
        "Type": "AWS::Lambda::Function",
        "DependsOn": sorted({f"{fn.key}LogGroup", *fn.depends_on}),
        "Properties": props,
        "Metadata": checkov_skips(skips),
    }
    return {f"{fn.key}LogGroup": log_group(spec, fn.log_group_name), f"{fn.key}Function": resource}


def rule(
    description: str, target: str, *, pattern: Json | None = None, schedule: str | None = None,
    max_age_s: int = 3600, retries: int = 10, dead_letter: bool = True,
) -> Json:  # fmt: skip
    """An EventBridge rule with one Lambda target; failed deliveries go to the DLQ."""
    tgt: Json = {
        "Id": target,
        "Arn": getatt(f"{target}Function", "Arn"),
        "RetryPolicy": {"MaximumEventAgeInSeconds": max_age_s, "MaximumRetryAttempts": retries},
    }
    if dead_letter:
        tgt["DeadLetterConfig"] = {"Arn": getatt("DeadLetterQueue", "Arn")}
    props: Json = {"Description": description, "State": "ENABLED", "Targets": [tgt]}
    if pattern is not None:
        props["EventPattern"] = pattern
    if schedule is not None:
        props["ScheduleExpression"] = schedule
    return {"Type": "AWS::Events::Rule", "Properties": props}


def permission(function: str, rule_id: str) -> Json:
    """EventBridge may invoke ``function``, and only for events of ``rule_id``."""
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": ref(f"{function}Function"),
            "Principal": "events.amazonaws.com",
            "SourceAccount": ref("AWS::AccountId"),
            "SourceArn": getatt(rule_id, "Arn"),
        },
    }


def dead_letter_queue(rules: list[str], *, retain: bool = False) -> dict[str, Json]:
    """Events that EventBridge or Lambda could not deliver or process, kept 14 days."""
    queue: Json = {
        "Type": "AWS::SQS::Queue",
        **deletion_policy(retain),
        "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        "Metadata": checkov_skips(
            {
                "CKV_AWS_27": "encrypted with SSE-SQS (SqsManagedSseEnabled); EventBridge cannot "
                "send to a queue under the AWS-managed KMS key, and no customer key is configured",
            }
        ),
    }
    statement = {
        "Sid": "EventBridgeDeadLetters",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": getatt("DeadLetterQueue", "Arn"),
        "Condition": {"ArnEquals": {"aws:SourceArn": [getatt(r, "Arn") for r in sorted(rules)]}},
    }
    policy: Json = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [ref("DeadLetterQueue")],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        },
    }
    return {"DeadLetterQueue": queue, "DeadLetterQueuePolicy": policy}


def webhook_url() -> dict[str, Json]:
    """A public function URL: GitLab cannot sign AWS requests, so the handler checks the
    X-Gitlab-Token header against the SSM secret and rejects everything else."""
    why_public = (
        "GitLab webhooks cannot sign AWS requests; the handler authenticates each call by "
        "its X-Gitlab-Token against the secret in SSM; reserved concurrency caps abuse"
    )
    return {
        "WebhookUrl": {
            "Type": "AWS::Lambda::Url",
            "Properties": {
                "AuthType": "NONE",
                "TargetFunctionArn": getatt("WebhookFunction", "Arn"),
            },
            "Metadata": checkov_skips({"CKV_AWS_258": why_public}),
        },
        "WebhookUrlPermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunctionUrl",
                "FunctionName": ref("WebhookFunction"),
                "FunctionUrlAuthType": "NONE",
                "Principal": "*",
            },
        },
        "WebhookInvokePermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": ref("WebhookFunction"),
                "InvokedViaFunctionUrl": True,
                "Principal": "*",
            },
        },
    }
