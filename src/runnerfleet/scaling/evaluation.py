"""One autoscaler evaluation, observe -> decide -> apply, over ports.

This is the path the autoscaler Lambda, the sandbox and the simulator share: only the ports
differ (boto3 and HTTP scrapes in AWS and the sandbox; the simulated fleet in the simulator).
Pure: the ports do the IO, the time comes in as a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from runnerfleet.scaling.apply import ApplyReport, GroupPort, apply_decision
from runnerfleet.scaling.decide import decide
from runnerfleet.scaling.observe import (
    GroupState,
    RunnerReading,
    build_snapshot,
    scrape_failures,
)
from runnerfleet.scaling.policies import Policy
from runnerfleet.scaling.types import FleetSnapshot, ScalingDecision


class GroupObserver(GroupPort, Protocol):
    """A group port that can also describe the group (DescribeAutoScalingGroups & co)."""

    def observe(self, group_name: str) -> GroupState: ...


@dataclass(frozen=True, slots=True)
class RunnerObservation:
    readings: Mapping[str, RunnerReading]  # instance id -> its runner's metrics
    pending_jobs: int | None  # GitLab's queue for the fleet, None when unknown
    pending_error: str | None = None


class RunnerObserver(Protocol):
    """Reads every InService runner's metrics and GitLab's queue (at the same time)."""

    def observe(self, group: GroupState) -> RunnerObservation: ...


@dataclass(frozen=True, slots=True)
class Cycle:
    """What one evaluation saw, decided and did."""

    group: GroupState
    runners: RunnerObservation
    snapshot: FleetSnapshot
    decision: ScalingDecision
    report: ApplyReport | None  # None on a dry run
    scrape_failures: int


def evaluate_group(
    group_port: GroupObserver,
    runner_port: RunnerObserver,
    group_name: str,
    policy: Policy,
    now: float,
    *,
    dry_run: bool = False,
) -> Cycle:
    group = group_port.observe(group_name)
    runners = runner_port.observe(group)
    snapshot, idle_tags = build_snapshot(group, runners.readings, runners.pending_jobs, now)
    decision = decide(snapshot, policy)
    report = None if dry_run else apply_decision(group_port, group, decision, now, idle_tags)
    failures = scrape_failures(group, runners.readings)
    return Cycle(group, runners, snapshot, decision, report, failures)
