"""``runnerfleet why JOB ENVFILE``: a job's wait explained (``ops.why``)."""

from __future__ import annotations

from pathlib import Path

import typer

from runnerfleet.cli.console import out
from runnerfleet.cli.formats import OutputFormat, OutputOption, clock_time, print_json
from runnerfleet.cli.options import SandboxFlag


def why(
    job: str = typer.Argument(..., help="The job's number (1234) or its URL (.../-/jobs/1234)."),
    envfile: Path = typer.Argument(..., exists=True, dir_okay=False, help="Environment file."),
    sandbox: SandboxFlag = False,
    profile: str | None = typer.Option(None, "--profile", help="AWS profile to use."),
    output: OutputOption = OutputFormat.TABLE,
) -> int:
    """Explain why a job waited, from GitLab's and the fleet's records.

    The job's timeline from GitLab (created, picked by which runner manager on which
    instance), the autoscaler's decisions and the group's launches in between, and a
    one-line verdict.

    A bare job number is looked for in the projects the environment's registrations serve;
    a URL must be a job of runner.gitlab_url. An unknown job exits with code 2.

    Examples:

      runnerfleet why 1234 envs/prod.yaml

      runnerfleet why https://gitlab.example.com/acme/backend/-/jobs/1234 envs/prod.yaml -o json
    """
    from rich.markup import escape

    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.ports import SYSTEM_CLOCK
    from runnerfleet.ops.why import explain_job

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    story = explain_job(spec, target, job, now=SYSTEM_CLOCK.wall())
    if output is OutputFormat.JSON:
        print_json(story.to_json())
        return 0
    head = story.job
    out.print(f"job {head.id} ({escape(head.project_path)}: {escape(head.name)}), {head.status}")
    out.print(f"[bold]verdict:[/] {escape(story.verdict)}")
    for at, source, what in story.timeline():
        offset = at - head.created_at
        out.print(f"  {clock_time(at)} {offset:+7.0f}s  {source:<11} {escape(what)}")
    return 0


def register(app: typer.Typer) -> None:
    app.command()(why)
