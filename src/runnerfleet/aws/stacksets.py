"""CloudFormation StackSets: the stack set, its stack instances and its operations.

A StackSet runs one operation at a time, so every change waits for its operation to end
before the next starts; ``wait`` polls the operation and its per-account results and reports
each account/region whose status changed. ``sleep`` and the poll interval are injected, so
waiting is bounded and testable. moto implements these calls without operation preferences
or auto-deployment; the tests cover those with botocore's Stubber.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from runnerfleet.aws.awscall import aws_call, error_code, translate
from runnerfleet.errors import DeployFailedError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
ENDED = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
HINT = (
    "check the StackSet administration and execution roles (or trusted access in AWS Organizations)"
)


@dataclass(frozen=True, slots=True)
class InstanceKey:
    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass(frozen=True, slots=True)
class StackInstance:
    key: InstanceKey
    status: str  # CURRENT, OUTDATED, INOPERABLE
    reason: str = ""
    organizational_unit: str | None = None


@dataclass(frozen=True, slots=True)
class DeployedSet:
    name: str
    template_body: str
    parameters: Mapping[str, str]
    status: str


@dataclass(frozen=True, slots=True)
class Progress:
    """One account/region's status in an operation (PENDING, RUNNING, SUCCEEDED, FAILED...)."""

    operation: str
    key: InstanceKey
    status: str
    reason: str = ""


ProgressSink = Callable[[Progress], None]
InstanceAction = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class InstanceCall:
    """Which stack instances: ``Accounts`` or ``DeploymentTargets``, times ``regions``."""

    targets: Mapping[str, Any]
    regions: Sequence[str]
    overrides: Mapping[str, str] = field(default_factory=dict)
    preferences: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetDefinition:
    """The stack set itself: template, parameters, permissions, preferences."""

    name: str
    template_body: str
    parameters: Mapping[str, str]
    permission_model: str  # SERVICE_MANAGED or SELF_MANAGED
    preferences: Mapping[str, Any]
    auto_deployment: Mapping[str, bool] | None = None
    administration_role_arn: str | None = None
    execution_role_name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    template_url: str | None = None  # set when the body is over the inline limit

    def arguments(self) -> dict[str, Any]:
        template = {"TemplateURL": self.template_url} if self.template_url else {}
        args: dict[str, Any] = {
            "StackSetName": self.name,
            **(template or {"TemplateBody": self.template_body}),
            "Parameters": _parameters(self.parameters),
            "Capabilities": CAPABILITIES,
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())],
        }
        if self.permission_model == "SERVICE_MANAGED":
            args["AutoDeployment"] = dict(self.auto_deployment or {"Enabled": False})
        else:
            if self.administration_role_arn:
                args["AdministrationRoleARN"] = self.administration_role_arn
            if self.execution_role_name:
                args["ExecutionRoleName"] = self.execution_role_name
        return args


class StackSets:
    def __init__(
        self,
        client: CloudFormationClient,
        sleep: Callable[[float], None] = time.sleep,
        poll_s: float = 5.0,
        timeout_s: float = 3600.0,
    ) -> None:
        self._cfn = client
        self._sleep = sleep
        self._poll_s = poll_s
        self._timeout_s = timeout_s

    def describe(self, name: str) -> DeployedSet | None:
        try:
            raw = self._cfn.describe_stack_set(StackSetName=name)["StackSet"]
        except Exception as exc:
            if error_code(exc) == "StackSetNotFoundException":
                return None
            raise translate(exc, f"describe stack set {name}", HINT) from exc
        params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in raw.get("Parameters", [])}
        return DeployedSet(name, raw.get("TemplateBody", ""), params, raw.get("Status", ""))

    def instances(self, name: str) -> list[StackInstance]:
        return [_instance(row) for row in self._pages(name)]

    def overrides(self, name: str, key: InstanceKey) -> dict[str, str]:
        raw = aws_call(
            lambda: self._cfn.describe_stack_instance(
                StackSetName=name, StackInstanceAccount=key.account, StackInstanceRegion=key.region
            ),
            f"describe stack instance {key}",
        )["StackInstance"]
        return {
            p["ParameterKey"]: p.get("ParameterValue", "")
            for p in raw.get("ParameterOverrides", [])
        }

    def create_set(self, definition: SetDefinition) -> None:
        args = {**definition.arguments(), "PermissionModel": definition.permission_model}
        aws_call(
            lambda: self._cfn.create_stack_set(**args), f"create stack set {definition.name}", HINT
        )

    def update_set(self, definition: SetDefinition, on_progress: ProgressSink) -> None:
        args = {**definition.arguments(), "OperationPreferences": dict(definition.preferences)}
        what = f"stack set {definition.name}: change template and parameters"
        op = aws_call(lambda: self._cfn.update_stack_set(**args), what, HINT)
        self.wait(definition.name, op["OperationId"], on_progress)

    def change_instances(
        self, action: InstanceAction, name: str, call: InstanceCall, on_progress: ProgressSink
    ) -> None:
        """Create, update or delete stack instances and wait for the operation."""
        args: dict[str, Any] = {
            "StackSetName": name,
            "Regions": list(call.regions),
            "OperationPreferences": dict(call.preferences),
            **call.targets,
        }
        if action == "delete":
            method: Callable[..., Any] = self._cfn.delete_stack_instances
            args["RetainStacks"] = False
        else:
            method = getattr(self._cfn, f"{action}_stack_instances")
            args["ParameterOverrides"] = _parameters(call.overrides)
        op = aws_call(lambda: method(**args), f"{action} stack instances of {name}", HINT)
        self.wait(name, op["OperationId"], on_progress)

    def delete_set(self, name: str) -> None:
        aws_call(lambda: self._cfn.delete_stack_set(StackSetName=name), f"delete stack set {name}")

    def wait(self, name: str, operation_id: str, on_progress: ProgressSink) -> None:
        """Until the operation ends; each account/region reported when its status changes."""
        seen: dict[InstanceKey, str] = {}
        deadline = time.monotonic() + self._timeout_s
        while True:
            status = self._operation_status(name, operation_id)
            self._report(name, operation_id, seen, on_progress)
            if status in ENDED:
                break
            if time.monotonic() > deadline:
                raise DeployFailedError(
                    f"stack set {name}: operation {operation_id} still {status} after "
                    f"{self._timeout_s:.0f} s",
                    hint="follow it in the CloudFormation console (StackSets), then run again",
                )
            self._sleep(self._poll_s)
        if status != "SUCCEEDED":
            failed = sorted(str(k) for k, s in seen.items() if s not in ("SUCCEEDED", "CANCELLED"))
            raise DeployFailedError(
                f"stack set {name}: operation {operation_id} {status}"
                + (f" in {', '.join(failed)}" if failed else ""),
                hint="read the reasons above; fix them and run the command again",
            )

    def _operation_status(self, name: str, operation_id: str) -> str:
        raw = aws_call(
            lambda: self._cfn.describe_stack_set_operation(
                StackSetName=name, OperationId=operation_id
            ),
            f"follow operation {operation_id} of {name}",
        )
        return str(raw["StackSetOperation"].get("Status", ""))

    def _report(
        self, name: str, operation_id: str, seen: dict[InstanceKey, str], on_progress: ProgressSink
    ) -> None:
        pages = self._cfn.get_paginator("list_stack_set_operation_results").paginate(
            StackSetName=name, OperationId=operation_id
        )
        for page in aws_call(lambda: list(pages), f"follow operation {operation_id} of {name}"):
            for row in page.get("Summaries", []):
                key = InstanceKey(row["Account"], row["Region"])
                if seen.get(key) != row.get("Status"):
                    seen[key] = str(row.get("Status", ""))
                    on_progress(Progress(operation_id, key, seen[key], row.get("StatusReason", "")))

    def _pages(self, name: str) -> Iterator[Mapping[str, Any]]:
        pages = self._cfn.get_paginator("list_stack_instances").paginate(StackSetName=name)
        for page in aws_call(lambda: list(pages), f"list stack instances of {name}", HINT):
            yield from page.get("Summaries", [])


def _instance(row: Mapping[str, Any]) -> StackInstance:
    return StackInstance(
        InstanceKey(str(row["Account"]), str(row["Region"])),
        str(row.get("Status", "")),
        str(row.get("StatusReason", "")),
        row.get("OrganizationalUnitId"),
    )


def _parameters(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]
