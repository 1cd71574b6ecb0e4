"""``runnerfleet fleet``: what the fleet is doing now, in one view.

The instances are observed and their runners scraped exactly as the autoscaler does it: one
dry-run evaluation with the function's own configuration, which also says what the autoscaler
would decide now. Around it: each instance's runner managers in GitLab, the autoscaler's last
decisions from its log group (``aws.decision_log``), and the stack's alarms in ALARM.
GitLab or the log group being unreadable is a note in the view, not a failure of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runnerfleet.aws.alarms import AlarmView, alarms_in_alarm
from runnerfleet.aws.decision_log import DecisionLog, DecisionRecord, from_summary
from runnerfleet.aws.fleet_resources import FleetResources
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import AwsError, RunnerfleetError
from runnerfleet.gitlab.inventory import ManagerView
from runnerfleet.ops.autoscale import Evaluation
from runnerfleet.ops.autoscale_env import ENV_ASG, ENV_DRY_RUN, ENV_PUBLISH, run_from_env
from runnerfleet.ops.fleet import fleet_of
from runnerfleet.ops.runners import list_runners
from runnerfleet.ops.target import Target
from runnerfleet.scaling.observe import GroupPart, Member
from runnerfleet.scaling.types import InstanceView
from runnerfleet.stack.wiring import autoscaler_environment

SecretReader = Callable[[str], str | None]
AUTOSCALER_LOG_SUFFIX = "-autoscaler"  # /aws/lambda/<stack>-autoscaler
HISTORY_S = 6 * 3600.0  # how far back the last decisions are looked for


@dataclass(frozen=True, slots=True)
class Manager:
    """A runner manager in GitLab that belongs to one instance (by its system_id)."""

    registration: str
    system_id: str
    status: str
    contacted_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "registration": self.registration,
            "system_id": self.system_id,
            "status": self.status,
            "contacted_at": self.contacted_at,
        }


@dataclass(frozen=True, slots=True)
class InstanceRow:
    instance_id: str
    group: str  # its Auto Scaling group (the warm one or the spot overflow)
    state: str
    launched_at: float
    running_jobs: int | None  # None: not scraped (not InService) or the scrape failed
    slots: int
    idle_since: float | None
    protected: bool
    next_action: str  # what the autoscaler would do to it now: terminate, protect, ...
    managers: tuple[Manager, ...] | None  # None: GitLab was not read

    def to_json(self, now: float) -> dict[str, Any]:
        managers = self.managers
        return {
            "instance_id": self.instance_id,
            "group": self.group,
            "state": self.state,
            "launched_at": self.launched_at,
            "age_s": round(max(0.0, now - self.launched_at), 1),
            "running_jobs": self.running_jobs,
            "slots": self.slots,
            "idle_since": self.idle_since,
            "protected": self.protected,
            "next_action": self.next_action,
            "managers": None if managers is None else [m.to_json() for m in managers],
        }


@dataclass(frozen=True, slots=True)
class FleetView:
    environment: str
    stack: str
    group: str
    location: str
    at: float
    desired: int
    min_size: int
    max_size: int
    groups: tuple[GroupPart, ...]  # each group of the fleet, the warm one first
    instances: tuple[InstanceRow, ...]
    pending_jobs: int | None
    pending_error: str | None
    scrape_failures: int
    next_decision: DecisionRecord  # what an evaluation now would decide (nothing applied)
    decisions: tuple[DecisionRecord, ...]  # the autoscaler's last decisions, newest last
    alarms: tuple[AlarmView, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "runnerfleet.fleet/1",
            "environment": self.environment,
            "stack": self.stack,
            "group": self.group,
            "location": self.location,
            "at": self.at,
            "capacity": {"desired": self.desired, "min": self.min_size, "max": self.max_size},
            "groups": [
                {"name": g.name, "desired": g.desired, "min": g.min_size, "max": g.max_size}
                for g in self.groups
            ],
            "instances": [row.to_json(self.at) for row in self.instances],
            "pending_jobs": self.pending_jobs,
            "pending_error": self.pending_error,
            "scrape_failures": self.scrape_failures,
            "next_decision": self.next_decision.to_json(),
            "decisions": [d.to_json() for d in self.decisions],
            "alarms": [a.to_json() for a in self.alarms],
            "notes": list(self.notes),
        }


def fleet_view(
    spec: FleetSpec, target: Target, *, read_secret: SecretReader, keep: int = 10
) -> FleetView:
    """One look at the fleet; ``keep`` is how many of the last decisions are shown."""
    fleet = fleet_of(spec, target)
    evaluation = observe_now(spec, target, fleet.group, read_secret)
    now = evaluation.snapshot.now
    managers, gitlab_note = managers_by_instance(spec, target)
    decisions, log_note = last_decisions(target, fleet, now, keep)
    notes = [*evaluation.group.notes, *gitlab_note, *log_note]
    alarms = alarms_of(target, fleet)
    return _view(
        spec, target, evaluation, managers=managers, decisions=decisions, alarms=alarms, notes=notes
    )


def observe_now(
    spec: FleetSpec, target: Target, group: str, read_secret: SecretReader
) -> Evaluation:
    """A dry-run evaluation with the function's settings: nothing is changed or published."""
    env = {**autoscaler_environment(spec), ENV_ASG: group, ENV_DRY_RUN: "true"}
    env[ENV_PUBLISH] = "false"
    try:
        return run_from_env(env, target.clients, target.metrics_address, read_secret)
    except LookupError as exc:
        raise AwsError(
            str(exc), hint="deploy the environment first: runnerfleet deploy ENVFILE"
        ) from exc


def managers_by_instance(
    spec: FleetSpec, target: Target
) -> tuple[dict[str, list[Manager]] | None, list[str]]:
    """Each live instance's runner managers; None and a note when GitLab cannot be read."""
    try:
        inventory = list_runners(spec, target)
    except (RunnerfleetError, LookupError) as exc:
        message = exc.message if isinstance(exc, RunnerfleetError) else str(exc)
        return None, [f"runner managers unknown: {message}"]
    found: dict[str, list[Manager]] = {}
    for view in inventory.views:
        for m in view.managers:
            if m.instance_id is not None:
                found.setdefault(m.instance_id, []).append(_manager(view.name, m))
    return found, []


def _manager(registration: str, m: ManagerView) -> Manager:
    return Manager(registration, m.system_id, m.status, m.contacted_at)


def last_decisions(
    target: Target, fleet: FleetResources, now: float, keep: int
) -> tuple[list[DecisionRecord], list[str]]:
    group = autoscaler_log_group(fleet.log_groups)
    if group is None:
        return [], ["the stack has no autoscaler log group: no decisions to show"]
    try:
        records = DecisionLog(target.clients.client("logs"), group).since(now - HISTORY_S)
    except RunnerfleetError as exc:
        return [], [f"decisions unknown: {exc.message}"]
    return records[-keep:] if keep > 0 else [], []


def autoscaler_log_group(log_groups: Sequence[str]) -> str | None:
    return next((g for g in log_groups if g.endswith(AUTOSCALER_LOG_SUFFIX)), None)


def alarms_of(target: Target, fleet: FleetResources) -> list[AlarmView]:
    return alarms_in_alarm(target.clients.client("cloudwatch"), fleet.stack)


def _view(
    spec: FleetSpec,
    target: Target,
    evaluation: Evaluation,
    *,
    managers: Mapping[str, list[Manager]] | None,
    decisions: Sequence[DecisionRecord],
    alarms: Sequence[AlarmView],
    notes: Sequence[str],
) -> FleetView:
    snapshot, group = evaluation.snapshot, evaluation.group
    members = {m.instance_id: m for m in group.members}
    parts = group.parts or (
        GroupPart(group.name, group.desired, group.min_size, group.max_size, frozenset(members)),
    )
    owner = {iid: part.name for part in parts for iid in part.instance_ids}
    rows = [
        _row(i, owner.get(i.instance_id, group.name), members[i.instance_id], evaluation, managers)
        for i in sorted(snapshot.instances, key=lambda i: (i.launched_at, i.instance_id))
    ]
    return FleetView(
        environment=spec.name,
        stack=spec.stack,
        group=group.name,
        location=target.location(),
        at=snapshot.now,
        desired=group.desired,
        min_size=group.min_size,
        max_size=group.max_size,
        groups=parts,
        instances=tuple(rows),
        pending_jobs=snapshot.pending_jobs,
        pending_error=evaluation.cycle.runners.pending_error,
        scrape_failures=evaluation.scrape_failures,
        next_decision=next_decision(evaluation),
        decisions=tuple(decisions),
        alarms=tuple(alarms),
        notes=tuple(notes),
    )


def _row(
    inst: InstanceView,
    group: str,
    member: Member,
    evaluation: Evaluation,
    managers: Mapping[str, list[Manager]] | None,
) -> InstanceRow:
    return InstanceRow(
        instance_id=inst.instance_id,
        group=group,
        state=inst.state.value,
        launched_at=member.launched_at,
        running_jobs=inst.running_jobs,
        slots=inst.slots,
        idle_since=inst.idle_since,
        protected=inst.protected,
        next_action=action_for(inst.instance_id, evaluation),
        managers=None if managers is None else tuple(managers.get(inst.instance_id, ())),
    )


def action_for(instance_id: str, evaluation: Evaluation) -> str:
    decision = evaluation.decision
    if instance_id in decision.terminate:
        return "terminate"
    if instance_id in decision.protect:
        return "protect"
    return "unprotect" if instance_id in decision.unprotect else ""


def next_decision(evaluation: Evaluation) -> DecisionRecord:
    """The dry run's summary read as a decision record, so both render the same way."""
    return from_summary(
        {**evaluation.summary(), "trigger": "now (dry run)"}, evaluation.snapshot.now
    )
