"""Day-2 commands: relaunch, terminate, logs, doctor. Parse, call the library, render."""

from __future__ import annotations

import re
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from runnerfleet.aws.awscall import aws_call
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.drain_watch import WatchStep, watch_drain
from runnerfleet.aws.fleet_resources import FleetResources, find_fleet
from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.aws.lifecycle_ssm import DrainCommands
from runnerfleet.aws.logs import FleetLogs
from runnerfleet.aws.refresh import InstanceRefresh, RefreshProgress
from runnerfleet.cli.console import err, out
from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SpecError

ENVFILE = typer.Argument(..., help="The environment file (YAML).", exists=True, dir_okay=False)
SANDBOX = typer.Option(False, "--sandbox", help="Talk to the embedded emulator, not AWS.")
PROFILE = typer.Option(None, "--profile", help="AWS profile (overrides aws.profile).")
INSTANCE_RE = re.compile(r"^i-[0-9a-f]{8,17}$")


def connect(envfile: Path, sandbox: bool, profile: str | None) -> tuple[FleetSpec, ClientFactory]:
    """The environment and a client factory for its account (or for the sandbox).

    Same targets as deploy: in the sandbox the environment is rewritten onto the seeded VPC.
    """
    from runnerfleet.cli.commands_deploy import targets

    spec, factory = targets([load_environment(envfile)], sandbox, profile)[0]
    return spec, factory


def fleet_of(spec: FleetSpec, factory: ClientFactory) -> FleetResources:
    return aws_call(
        lambda: find_fleet(factory.client("cloudformation"), factory.client("events"), spec.stack),
        f"find the fleet of stack {spec.stack}",
    )


def relaunch(
    envfile: Path = ENVFILE,
    *,
    min_healthy: int = typer.Option(
        90, "--min-healthy", min=0, max=100, help="Percent of desired capacity kept in service."
    ),
    max_healthy: int | None = typer.Option(
        None,
        "--max-healthy",
        min=100,
        max=200,
        help="Above 100: launch replacements before terminating (needs spare max size).",
    ),
    warmup: int | None = typer.Option(None, "--warmup", min=0, help="Instance warmup, seconds."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the refresh to its end."),
    sandbox: bool = SANDBOX,
    profile: str | None = PROFILE,
) -> int:
    """Replace every instance (instance refresh); old ones drain through the terminate hook.

    Shows progress and waits; Ctrl-C cancels the refresh (replaced instances stay). Refused
    while another refresh runs.

    Example: runnerfleet relaunch examples/dev.yaml --min-healthy 75
    """
    spec, factory = connect(envfile, sandbox, profile)
    group = fleet_of(spec, factory).group
    api = InstanceRefresh(factory.client("autoscaling"))
    refresh_id = aws_call(
        lambda: api.start(group, min_healthy=min_healthy, max_healthy=max_healthy, warmup_s=warmup),
        f"start an instance refresh of {group}",
    )
    err.print(f"instance refresh {refresh_id} started on {group} (min healthy {min_healthy}%)")
    if not wait:
        return 0
    final = api.follow(group, refresh_id, sleep=time.sleep, on_progress=_show_refresh)
    out.print(f"relaunch {final.status}: {final.percent}% replaced")
    return 0 if final.status == "Successful" else 1


def _show_refresh(progress: RefreshProgress) -> None:
    err.print(escape(progress.line()))


def terminate(
    envfile: Path = ENVFILE,
    *,
    instance: str = typer.Argument(..., help="Instance id, e.g. i-0abc123def4567890."),
    replace: bool = typer.Option(
        False, "--replace/--no-replace", help="Launch a replacement (desired capacity stays)."
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the drain to its end."),
    timeout: int | None = typer.Option(
        None, "--timeout", help="Stop following after this many seconds (default: drain budget)."
    ),
    sandbox: bool = SANDBOX,
    profile: str | None = PROFILE,
) -> int:
    """Terminate one instance through the Auto Scaling group, so the hook drains it first.

    Plain EC2 termination would skip the drain and is never used. Shows the drain's progress.

    Example: runnerfleet terminate examples/dev.yaml i-0abc123def4567890 --replace
    """
    if not INSTANCE_RE.match(instance):
        raise SpecError(
            f"{instance!r} is not an EC2 instance id", hint="pass an id like i-0abc123def4567890"
        )
    spec, factory = connect(envfile, sandbox, profile)
    fleet = fleet_of(spec, factory)
    actions = LifecycleActions(factory.client("autoscaling"))
    what = actions.terminate(fleet.group, instance, decrement=not replace)
    err.print(f"{escape(what)} (through {fleet.group}: the terminate hook drains it)")
    if not wait:
        return 0
    last = watch_drain(
        actions,
        DrainCommands(factory.client("ssm")),
        instance_id=instance,
        document=_drain_document(fleet.documents),
        now=time.monotonic,
        sleep=time.sleep,
        on_step=_show_step,
        timeout_s=timeout or _drain_wait_s(spec),
    )
    out.print(f"{instance} drained and terminated after {last.elapsed_s:.0f}s")
    return 0


def _drain_document(documents: tuple[str, ...]) -> str | None:
    """The stack's drain document (CloudFormation names it ``<stack>-DrainDocument-<id>``)."""
    return next((d for d in documents if "drain" in d.lower()), None)


def _drain_wait_s(spec: FleetSpec) -> float:
    """Long enough for the longest drain the fleet allows, plus the hook and shutdown."""
    return float(spec.drain.max_drain_s + spec.drain.heartbeat_timeout_s + 600)


def _show_step(step: WatchStep) -> None:
    err.print(escape(step.line()))


def logs(
    envfile: Path = ENVFILE,
    *,
    instance: str | None = typer.Argument(None, help="Only this instance's logs."),
    since: str = typer.Option("1h", "--since", help="How far back: 30m, 2h, 1d."),
    limit: int = typer.Option(200, "--limit", min=1, max=10000, help="At most this many lines."),
    sandbox: bool = SANDBOX,
    profile: str | None = PROFILE,
) -> int:
    """Print the fleet's bootstrap, runner and drain logs from CloudWatch Logs, oldest first.

    Example: runnerfleet logs examples/dev.yaml i-0abc123def4567890 --since 2h
    """
    spec, factory = connect(envfile, sandbox, profile)
    fleet = fleet_of(spec, factory)
    start = time.time() - parse_duration(since)
    lines = aws_call(
        lambda: FleetLogs(factory.client("logs")).fetch(
            list(fleet.log_groups), since=start, instance_id=instance, limit=limit
        ),
        "read CloudWatch Logs",
    )
    for line in lines:
        out.print(escape(line.render()))
    if not lines:
        err.print(f"no log lines since {since} in {', '.join(fleet.log_groups) or 'no log group'}")
    return 0


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise SpecError(f"--since {text!r} is not a duration", hint="use e.g. 30m, 2h or 1d")
    return int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


def doctor(
    envfile: Path = ENVFILE,
    drift: bool = typer.Option(True, "--drift/--no-drift", help="Run stack drift detection."),
    sandbox: bool = SANDBOX,
    profile: str | None = PROFILE,
) -> int:
    """Preflight and troubleshooting: every check runs and every finding is reported.

    Checks credentials and account, VPC/subnets with NAT egress, the Auto Scaling
    service-linked role, the artefact bucket, the AMI, instance types in the AZs, quotas,
    GitLab reachability and tokens, the stack's state and recent failures, and drift.
    Exit codes: 0 no failures (warnings allowed), 1 at least one check failed.

    Example: runnerfleet doctor examples/prod.yaml
    """
    from runnerfleet.aws.doctor import run_doctor

    spec, factory = connect(envfile, sandbox, profile)
    findings = run_doctor(spec, factory, drift=drift, sleep=time.sleep)
    table = Table(title=f"doctor: {spec.name} ({factory.target.label()})")
    for col in ("check", "status", "finding", "fix"):
        table.add_column(col, overflow="fold")
    colour = {"ok": "green", "warn": "yellow", "fail": "red"}
    for f in findings:
        table.add_row(
            f.id, f"[{colour[f.status]}]{f.status}[/]", escape(f.message), escape(f.fix or "")
        )
    out.print(table)
    failed = sum(f.status == "fail" for f in findings)
    warned = sum(f.status == "warn" for f in findings)
    out.print(f"{len(findings)} checks: {failed} failed, {warned} warnings")
    return 1 if failed else 0


def register(app: typer.Typer) -> None:
    app.command()(relaunch)
    app.command()(terminate)
    app.command()(logs)
    app.command()(doctor)
