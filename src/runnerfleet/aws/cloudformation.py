"""CloudFormation through change sets: create, preview, execute with live events, delete.

``StackOperations`` takes the client in its constructor (tests hand it a moto-backed or a
Stubber-wrapped client) and a ``sleep`` so that waiting is bounded and testable. Every change
set names its type explicitly: CREATE when the stack does not exist (or only exists as an
unexecuted REVIEW_IN_PROGRESS shell), UPDATE otherwise. moto defaults to CREATE and AWS to
UPDATE, so leaving it out would behave differently in the sandbox.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.aws.awscall import aws_call, error_code, error_message, translate
from runnerfleet.aws.preview import (
    ParameterChange,
    ResourceChange,
    canonical_template,
    effective_parameters,
    parameter_diff,
    same_value,
    ssm_typed_keys,
)
from runnerfleet.aws.stackstatus import (
    REVIEW_IN_PROGRESS,
    ROLLBACK_COMPLETE,
    StackEvent,
    StackState,
    is_failure,
    is_in_progress,
    means_no_changes,
)
from runnerfleet.errors import AwsError, DeployFailedError, RunnerfleetError

EventSink = Callable[[StackEvent], None]
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")


class StackNeedsDeletionError(DeployFailedError):
    """The stack is in ROLLBACK_COMPLETE: its first creation failed; it can only be deleted."""


@dataclass(frozen=True)
class StackRequest:
    """What we want deployed: one stack's template, parameters and tags."""

    name: str
    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    tags: Mapping[str, str] = field(default_factory=dict)
    template_url: str | None = None  # set when the body is over the inline limit

    def body(self) -> str:
        return template_body(self.template)


@dataclass(frozen=True)
class ChangeSet:
    change_set_id: str
    stack_id: str
    change_type: str  # CREATE or UPDATE
    changes: tuple[ResourceChange, ...]
    parameters: tuple[ParameterChange, ...]

    @property
    def empty(self) -> bool:
        return not self.changes and not self.parameters


class StackOperations:
    """One region's CloudFormation, one call at a time, every wait bounded."""

    def __init__(
        self,
        client: Any,
        *,
        sleep: Callable[[float], None] = time.sleep,
        poll_s: float = 2.0,
        timeout_s: float = 3 * 3600,
        resolves_ssm_parameters: bool = True,
    ) -> None:
        self._client = client
        self._resolves_ssm = resolves_ssm_parameters
        self._sleep = sleep
        self._poll_s = poll_s
        self._max_polls = max(1, int(timeout_s / max(poll_s, 0.001)))

    # -- reading -----------------------------------------------------------------------------

    def describe(self, name: str) -> StackState | None:
        try:
            stacks = self._client.describe_stacks(StackName=name)["Stacks"]
        except Exception as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                return None
            raise translate(exc, f"describing stack {name}") from exc
        return StackState.from_api(stacks[0]) if stacks else None

    def deployed_template(self, name: str) -> Any:
        body = aws_call(
            lambda: self._client.get_template(StackName=name), f"reading {name}'s template"
        )
        return canonical_template(body["TemplateBody"])

    def unchanged(self, request: StackRequest, state: StackState) -> bool:
        """True when template, parameters and tags equal what is deployed (no change set needed).

        AWS masks NoEcho values as ****, so those never compare equal and AWS decides. SSM-typed
        parameters are resolved again at every update (a new AMI is a change), so where
        CloudFormation resolves them their presence leaves the decision to AWS; the emulator
        stores a fixed resolved value.
        """
        wanted = effective_parameters(request.template, request.parameters)
        resolved = ssm_typed_keys(request.template)
        if resolved and self._resolves_ssm:
            return False
        if set(wanted) != set(state.parameters) or dict(request.tags) != dict(state.tags):
            return False
        if not all(
            same_value(state.parameters[k], v) for k, v in wanted.items() if k not in resolved
        ):
            return False
        deployed: Any = self.deployed_template(request.name)
        return bool(deployed == canonical_template(request.template))

    def outputs(self, name: str) -> Mapping[str, str]:
        state = self.describe(name)
        if state is None:
            raise AwsError(
                f"stack {name} does not exist", hint="deploy it first: runnerfleet deploy"
            )
        return state.outputs

    # -- change sets ---------------------------------------------------------------------------

    def create_change_set(
        self, request: StackRequest, state: StackState | None
    ) -> ChangeSet | None:
        """A reviewed change set, or None when AWS says nothing would change (it is deleted)."""
        change_type = _change_type(request.name, state)
        name = f"runnerfleet-{uuid.uuid4().hex[:12]}"
        created = aws_call(
            lambda: self._client.create_change_set(
                StackName=request.name,
                ChangeSetName=name,
                ChangeSetType=change_type,
                **_template_argument(request),
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": v} for k, v in request.parameters.items()
                ],
                Capabilities=list(CAPABILITIES),
                Tags=[{"Key": k, "Value": v} for k, v in request.tags.items()],
            ),
            f"creating a change set for {request.name}",
        )
        described = self._wait_change_set(created["Id"])
        if described["Status"] == "FAILED":
            reason = str(described.get("StatusReason", "") or "")
            if means_no_changes(reason):
                self._discard(created["Id"], request.name, change_type)
                return None
            cleanup = self._discard_after_failure(created["Id"], request.name, change_type)
            raise DeployFailedError(
                f"the change set for {request.name} failed: {reason or 'no reason given'}",
                hint=f"fix the template or parameters it names; {cleanup}",
            )
        old = dict(state.parameters) if state and change_type == "UPDATE" else {}
        new = effective_parameters(request.template, request.parameters)
        return ChangeSet(
            change_set_id=str(created["Id"]),
            stack_id=str(created["StackId"]),
            change_type=change_type,
            changes=tuple(ResourceChange.from_api(c) for c in described["Changes"]),
            parameters=tuple(parameter_diff(old, new, request.template)),
        )

    def delete_change_set(self, change_set: ChangeSet, stack_name: str) -> None:
        """Raises ``AwsError`` naming the change set when it could not be deleted."""
        self._discard(change_set.change_set_id, stack_name, change_set.change_type)

    def _discard(self, change_set_id: str, stack_name: str, change_type: str) -> None:
        """Delete a change set; for a CREATE, also the empty REVIEW_IN_PROGRESS stack it made."""
        aws_call(
            lambda: self._client.delete_change_set(ChangeSetName=change_set_id),
            f"deleting change set {change_set_id} of {stack_name}",
            hint=f"it is still there: aws cloudformation delete-change-set --change-set-name "
            f"{change_set_id}",
        )
        if change_type != "CREATE":
            return
        state = self.describe(stack_name)
        if state is not None and state.status == REVIEW_IN_PROGRESS:
            aws_call(
                lambda: self._client.delete_stack(StackName=state.stack_id),
                f"deleting the empty stack {stack_name} the change set created",
                hint=f"it is still there: aws cloudformation delete-stack --stack-name "
                f"{stack_name}",
            )

    def _discard_after_failure(self, change_set_id: str, stack_name: str, change_type: str) -> str:
        """Cleanup after a failure (the failure is the news): what became of the change set."""
        try:
            self._discard(change_set_id, stack_name, change_type)
        except RunnerfleetError as exc:
            return f"the change set could not be deleted ({exc.message}; {exc.hint})"
        return "the change set was deleted"

    def _wait_change_set(self, change_set_id: str) -> dict[str, Any]:
        for _ in range(self._max_polls):
            described = self._describe_change_set(change_set_id)
            if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
                return described
            self._sleep(self._poll_s)
        raise AwsError(
            f"change set {change_set_id} was not ready in time",
            hint="look at it in the CloudFormation console, or retry",
        )

    def _describe_change_set(self, change_set_id: str) -> dict[str, Any]:
        """All pages: a large stack's changes come back in several."""
        kwargs: dict[str, Any] = {"ChangeSetName": change_set_id}
        first: dict[str, Any] | None = None
        changes: list[Any] = []
        while True:
            page = aws_call(
                lambda: self._client.describe_change_set(**kwargs), "reading a change set"
            )
            first = first or page
            changes.extend(page.get("Changes") or [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        return {**first, "Changes": changes}

    # -- executing -----------------------------------------------------------------------------

    def execute(self, change_set: ChangeSet, stack_name: str, on_event: EventSink) -> StackState:
        """Run the change set and stream its events; raises DeployFailedError on failure."""
        marker = self._newest_event_id(change_set.stack_id)
        try:
            self._client.execute_change_set(ChangeSetName=change_set.change_set_id)
        except Exception as exc:
            cleanup = self._discard_after_failure(
                change_set.change_set_id, stack_name, change_set.change_type
            )
            raise DeployFailedError(
                f"executing the change set for {stack_name} failed: {error_message(exc)}",
                events=[],
                hint=f"fix the cause above; {cleanup}. Events: "
                f"runnerfleet status ENVFILE (stack {stack_name})",
            ) from exc
        final, seen = self.follow(change_set.stack_id, marker, on_event)
        if is_failure(final.status):
            raise self.failure(final, seen)
        return final

    def follow(
        self, stack_id: str, marker: str | None, on_event: EventSink
    ) -> tuple[StackState, list[StackEvent]]:
        """Print new events until the stack leaves its *_IN_PROGRESS status (bounded)."""
        seen: list[StackEvent] = []
        for _ in range(self._max_polls):
            fresh = self._events_since(stack_id, marker)
            if fresh:
                marker = fresh[-1].event_id
                for event in fresh:
                    seen.append(event)
                    on_event(event)
            state = self.describe(stack_id)
            if state is None:
                raise AwsError(f"stack {stack_id} disappeared while we watched it")
            if not is_in_progress(state.status) and state.status != REVIEW_IN_PROGRESS:
                return state, seen
            self._sleep(self._poll_s)
        raise AwsError(
            f"stack {stack_id} is still in progress after the time limit",
            hint="it keeps going in AWS; watch it with runnerfleet status ENVFILE",
        )

    def failure(self, state: StackState, seen: list[StackEvent]) -> DeployFailedError:
        failed = [e for e in seen if e.failed and e.reason]
        lines = [e.line() for e in failed] or [f"{state.status}: {state.reason or 'no reason'}"]
        return DeployFailedError(
            f"stack {state.name} ended in {state.status}",
            events=lines,
            hint="fix the failing resources listed above, then deploy again",
        )

    def recent_events(self, stack_id: str, count: int) -> list[StackEvent]:
        """The latest ``count`` events, newest first."""
        events: list[StackEvent] = []
        for raw in self._event_pages(stack_id):
            if len(events) >= count:
                break
            events.append(StackEvent.from_api(raw))
        return events

    def _newest_event_id(self, stack_id: str) -> str | None:
        page = aws_call(
            lambda: self._client.describe_stack_events(StackName=stack_id), "reading stack events"
        )
        events = page.get("StackEvents") or []
        return str(events[0]["EventId"]) if events else None

    def _events_since(self, stack_id: str, marker: str | None) -> list[StackEvent]:
        """Events newer than the marker, oldest first (the API lists newest first, paged)."""
        fresh: list[StackEvent] = []
        for raw in self._event_pages(stack_id):
            if marker is not None and raw.get("EventId") == marker:
                break
            fresh.append(StackEvent.from_api(raw))
        return list(reversed(fresh))

    def _event_pages(self, stack_id: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"StackName": stack_id}
        for _ in range(100):  # 100 pages of 100 events: far more than one operation makes
            page = aws_call(
                lambda: self._client.describe_stack_events(**kwargs), "reading stack events"
            )
            yield from page.get("StackEvents") or []
            if not page.get("NextToken"):
                return
            kwargs["NextToken"] = page["NextToken"]

    # -- deleting and protecting ---------------------------------------------------------------

    def delete_stack(self, state: StackState, on_event: EventSink) -> StackState:
        marker = self._newest_event_id(state.stack_id)
        aws_call(
            lambda: self._client.delete_stack(StackName=state.stack_id),
            f"deleting stack {state.name}",
        )
        final, seen = self.follow(state.stack_id, marker, on_event)
        if final.status != "DELETE_COMPLETE":
            raise self.failure(final, seen)
        return final

    def set_termination_protection(self, name: str, enabled: bool) -> None:
        aws_call(
            lambda: self._client.update_termination_protection(
                StackName=name, EnableTerminationProtection=enabled
            ),
            f"setting termination protection on {name}",
        )


def template_body(template: Mapping[str, Any]) -> str:
    """The exact text sent to CloudFormation (sorted keys: same template, same bytes)."""
    return json.dumps(template, sort_keys=True, separators=(",", ":"))


def _template_argument(request: StackRequest) -> dict[str, str]:
    if request.template_url:
        return {"TemplateURL": request.template_url}
    return {"TemplateBody": request.body()}


def _change_type(name: str, state: StackState | None) -> str:
    if state is None or state.status == REVIEW_IN_PROGRESS:
        return "CREATE"
    if state.status == ROLLBACK_COMPLETE:
        raise needs_deletion_error(name, state)
    if is_in_progress(state.status):
        raise AwsError(
            f"stack {name} is busy ({state.status})",
            hint="wait for the running operation to finish (runnerfleet status ENVFILE), retry",
        )
    return "UPDATE"


def needs_deletion_error(name: str, state: StackState) -> StackNeedsDeletionError:
    return StackNeedsDeletionError(
        f"stack {name} is in ROLLBACK_COMPLETE: its first creation failed and AWS rolled "
        "it back. A stack in this state cannot be updated, only deleted",
        events=[state.reason] if state.reason else [],
        hint=f"delete it (runnerfleet destroy ENVFILE, or answer yes when deploy offers), "
        f"then deploy again to create {name} afresh",
    )
