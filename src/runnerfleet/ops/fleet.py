"""Day-2 use cases on a deployed fleet: find it, relaunch it (instance refresh), read its logs."""

from __future__ import annotations

from runnerfleet.aws.awscall import aws_call
from runnerfleet.aws.fleet_resources import FleetResources, find_fleet
from runnerfleet.aws.logs import FleetLogs, LogLine
from runnerfleet.aws.refresh import InstanceRefresh, RefreshProgress
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import AbortedError, AwsError
from runnerfleet.ops.ports import Clock, Reporter
from runnerfleet.ops.target import Target

REFRESH_MAX_POLLS = 5760  # a day at 15 s


def fleet_of(spec: FleetSpec, target: Target) -> FleetResources:
    clients = target.clients
    return aws_call(
        lambda: find_fleet(clients.client("cloudformation"), clients.client("events"), spec.stack),
        f"finding the fleet of stack {spec.stack}",
    )


def relaunch(
    spec: FleetSpec,
    target: Target,
    *,
    min_healthy: int,
    max_healthy: int | None,
    warmup_s: int | None,
    follow: bool,
    reporter: Reporter,
    clock: Clock,
) -> RefreshProgress | None:
    """Replace every instance (old ones drain through the hook); None when not followed."""
    group = fleet_of(spec, target).group
    refresh = InstanceRefresh(target.clients.client("autoscaling"))
    refresh_id = aws_call(
        lambda: refresh.start(
            group, min_healthy=min_healthy, max_healthy=max_healthy, warmup_s=warmup_s
        ),
        f"starting an instance refresh of {group}",
    )
    reporter.step(
        spec.name, f"instance refresh {refresh_id} started on {group} (min healthy {min_healthy}%)"
    )
    if not follow:
        return None
    return follow_refresh(refresh, group, refresh_id, reporter=reporter, env=spec.name, clock=clock)


def follow_refresh(
    refresh: InstanceRefresh,
    group: str,
    refresh_id: str,
    *,
    reporter: Reporter,
    env: str,
    clock: Clock,
    poll_s: float = 15.0,
) -> RefreshProgress:
    """Poll until the refresh ends; on Ctrl-C cancel it and raise AbortedError."""
    try:
        for _ in range(REFRESH_MAX_POLLS):
            progress = refresh.describe(group, refresh_id)
            reporter.step(env, progress.line())
            if not progress.active:
                return progress
            clock.sleep(poll_s)
    except KeyboardInterrupt:
        refresh.cancel(group)
        raise AbortedError(
            f"instance refresh {refresh_id} cancelled (Ctrl-C); replaced instances stay",
            hint="run `runnerfleet relaunch ENVFILE` again to replace the rest",
        ) from None
    raise AwsError(
        f"instance refresh {refresh_id} still running after the wait limit",
        hint="follow it with `aws autoscaling describe-instance-refreshes`",
    )


def fleet_logs(
    spec: FleetSpec,
    target: Target,
    *,
    since_s: float,
    instance_id: str | None,
    limit: int,
    clock: Clock,
) -> tuple[list[LogLine], tuple[str, ...]]:
    """The fleet's log lines of the last ``since_s`` seconds, and the groups read."""
    groups = fleet_of(spec, target).log_groups
    logs = FleetLogs(target.clients.client("logs"))
    lines = aws_call(
        lambda: logs.fetch(
            list(groups), since=clock.wall() - since_s, instance_id=instance_id, limit=limit
        ),
        "reading CloudWatch Logs",
    )
    return lines, groups
