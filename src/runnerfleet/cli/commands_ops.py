"""Day-2 commands: relaunch, terminate, logs, doctor. Parse, call one use case, render."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.markup import escape

from runnerfleet.cli import findings_view as view
from runnerfleet.cli import json_docs
from runnerfleet.cli.console import err, out
from runnerfleet.cli.formats import OutputFormat, OutputOption, print_json
from runnerfleet.cli.options import SandboxFlag
from runnerfleet.errors import SpecError
from runnerfleet.findings import has_errors

ENVFILE = typer.Argument(..., help="The environment file (YAML).", exists=True, dir_okay=False)
PROFILE = typer.Option(None, "--profile", help="AWS profile (overrides aws.profile).")


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
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
) -> int:
    """Replace every instance (instance refresh); old ones drain through the terminate hook.

    Shows progress and waits; Ctrl-C cancels the refresh (replaced instances stay). Refused
    while another refresh runs.

    Example: runnerfleet relaunch examples/dev.yaml --min-healthy 75
    """
    from runnerfleet.cli import compose
    from runnerfleet.cli.deploy_render import RichReporter
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.fleet import relaunch as relaunch_fleet
    from runnerfleet.ops.ports import SYSTEM_CLOCK

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    final = relaunch_fleet(
        spec,
        target,
        min_healthy=min_healthy,
        max_healthy=max_healthy,
        warmup_s=warmup,
        follow=wait,
        reporter=RichReporter(),
        clock=SYSTEM_CLOCK,
    )
    if final is None:
        return 0
    out.print(f"relaunch {final.status}: {final.percent}% replaced")
    return 0 if final.status == "Successful" else 1


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
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
) -> int:
    """Terminate one instance through the Auto Scaling group, so the hook drains it first.

    Plain EC2 termination would skip the drain and is never used. Shows the drain's progress.

    Example: runnerfleet terminate examples/dev.yaml i-0abc123def4567890 --replace
    """
    from runnerfleet.cli import compose
    from runnerfleet.cli.deploy_render import RichReporter
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.ports import SYSTEM_CLOCK
    from runnerfleet.ops.terminate import terminate_instance

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    done = terminate_instance(
        spec,
        target,
        instance,
        replace=replace,
        follow=wait,
        timeout_s=timeout,
        reporter=RichReporter(),
        clock=SYSTEM_CLOCK,
    )
    if done.last is not None:
        out.print(f"{instance} drained and terminated after {done.last.elapsed_s:.0f}s")
    return 0


def logs(
    envfile: Path = ENVFILE,
    *,
    instance: str | None = typer.Argument(None, help="Only this instance's logs."),
    since: str = typer.Option("1h", "--since", help="How far back: 30m, 2h, 1d."),
    limit: int = typer.Option(200, "--limit", min=1, max=10000, help="At most this many lines."),
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
) -> int:
    """Print the fleet's bootstrap, runner and drain logs from CloudWatch Logs, oldest first.

    Example: runnerfleet logs examples/dev.yaml i-0abc123def4567890 --since 2h
    """
    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.fleet import fleet_logs
    from runnerfleet.ops.ports import SYSTEM_CLOCK

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    lines, groups = fleet_logs(
        spec,
        target,
        since_s=parse_duration(since),
        instance_id=instance,
        limit=limit,
        clock=SYSTEM_CLOCK,
    )
    for line in lines:
        out.print(escape(line.render()))
    if not lines:
        err.print(f"no log lines since {since} in {', '.join(groups) or 'no log group'}")
    return 0


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise SpecError(f"--since {text!r} is not a duration", hint="use e.g. 30m, 2h or 1d")
    return int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


def doctor(
    envfile: Path = ENVFILE,
    drift: bool = typer.Option(True, "--drift/--no-drift", help="Run stack drift detection."),
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
    output: OutputOption = OutputFormat.TABLE,
) -> int:
    """Preflight and troubleshooting: every check runs and every finding is reported.

    Checks credentials and account, VPC/subnets with NAT egress, the Auto Scaling
    service-linked role, the artefact bucket, the AMI, instance types in the AZs, quotas,
    GitLab reachability and tokens, the stack's state and recent failures, and drift.
    Exit codes: 0 no failures (warnings allowed), 1 at least one check failed.

    Example: runnerfleet doctor examples/prod.yaml
    """
    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.doctor import run_doctor
    from runnerfleet.ops.ports import SYSTEM_CLOCK

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    findings = run_doctor(spec, target, drift=drift, sleep=SYSTEM_CLOCK.sleep)
    if output is OutputFormat.JSON:
        print_json(json_docs.doctor(spec.name, target.label, findings))
        return 1 if has_errors(findings) else 0
    view.render_findings(findings, f"doctor: {spec.name} ({target.label})")
    out.print(view.summary(findings))
    return 1 if has_errors(findings) else 0


def register(app: typer.Typer) -> None:
    app.command()(relaunch)
    app.command()(terminate)
    app.command()(logs)
    app.command()(doctor)
