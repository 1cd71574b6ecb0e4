"""`runnerfleet sandbox start|status|stop`: the sandbox twin (moto behind one endpoint).

``sandbox_app`` is importable on purpose: other modules add commands to it (e.g. ``demo``)
with ``sandbox_app.command()(...)`` before the CLI runs.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from runnerfleet.cli.console import emulated_banner, err, out
from runnerfleet.sandbox.state import DEFAULT_REGION, MAX_SCHEDULE_FACTOR, SandboxState, state_path

sandbox_app = typer.Typer(
    name="sandbox",
    help=(
        "The sandbox twin (moto behind one AWS endpoint) on 127.0.0.1: no AWS account needed.\n\n"
        "Start it, then add --sandbox to deploy, diff, status, outputs and destroy:\n\n"
        "  runnerfleet sandbox start\n\n"
        "  runnerfleet deploy examples/dev.yaml --sandbox --yes\n\n"
        "  runnerfleet sandbox stop\n\n"
        "Emulated means: stacks and instances are records, nothing boots, nothing is billed."
    ),
    no_args_is_help=True,
)


@sandbox_app.command()
def start(
    region: str = typer.Option(DEFAULT_REGION, help="Region the sandbox is seeded in."),
    port: int = typer.Option(0, help="Port on 127.0.0.1 (0: a free one)."),
    schedule_factor: float = typer.Option(
        1.0,
        "--schedule-factor",
        help="EventBridge schedules run N times faster than real time "
        f"(0 < N <= {MAX_SCHEDULE_FACTOR:g}; 6: rate(1 minute) every 10 s).",
    ),
) -> int:
    """Start the twin and a GitLab stand-in in the background, seed them, record them.

    Seeded: a VPC with two private subnets and an artefact bucket; the stand-in accepts the
    sandbox's own access token, so runner registrations work without a real GitLab.

    Example: runnerfleet sandbox start --schedule-factor 6
    """
    from runnerfleet.sandbox import emulator

    emulator.check_schedule_factor(schedule_factor)
    err.print("starting the sandbox twin on 127.0.0.1 ...")
    state = emulator.start(region=region, port=port or None, schedule_factor=schedule_factor)
    emulated_banner(state.endpoint)
    _describe(state)
    return 0


@sandbox_app.command()
def status(
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object: aws_endpoint, region, account_id, gitlab_url, ..."
    ),
) -> int:
    """Say whether the sandbox runs, where, and what it was seeded with (exit 7 if not).

    With --json, print one JSON object any client can be pointed at, e.g.
    AWS_ENDPOINT_URL=$(runnerfleet sandbox status --json | jq -r .aws_endpoint) aws ...
    """
    from runnerfleet.sandbox import emulator

    state, answering = emulator.status()
    if as_json:
        out.print_json(data=emulator.status_document(state, answering))
        return 0 if answering else 7
    if state is None:
        out.print("sandbox: not running (start it: runnerfleet sandbox start)")
        return 7
    emulated_banner(state.endpoint)
    out.print(f"sandbox: {'running' if answering else '[red]not answering[/]'}")
    _describe(state)
    return 0 if answering else 7


@sandbox_app.command()
def stop() -> int:
    """Stop the twin and stand-in this machine started (those PIDs only), forget their state.

    Everything in it is gone afterwards.
    """
    from runnerfleet.sandbox import emulator

    state = emulator.stop()
    if state is None:
        out.print("sandbox: was not running")
    else:
        out.print(f"sandbox: stopped (pid {state.pid}, {escape(state.endpoint)})")
    return 0


def _describe(state: SandboxState) -> None:
    out.print(f"  endpoint: {escape(state.endpoint)}  pid: {state.pid}  region: {state.region}")
    out.print(f"  account:  {state.account_id}")
    out.print(f"  vpc:      {state.vpc_id}  private subnets: {', '.join(state.subnet_ids)}")
    out.print(f"  bucket:   {state.bucket}")
    if state.schedule_factor != 1:
        out.print(f"  schedules: {state.schedule_factor:g} times faster than real time")
    if state.gitlab_url:
        out.print(f"  gitlab:   {escape(state.gitlab_url)} (stand-in, pid {state.gitlab_pid})")
    out.print(f"  state:    {escape(str(state_path()))}")


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
