"""``runnerfleet image``: the baked runner image (EC2 Image Builder). Parse, call, render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import typer
from rich.markup import escape

from runnerfleet.cli.commands_deploy import PROFILE, YES
from runnerfleet.cli.console import emit, err, out
from runnerfleet.cli.options import SandboxFlag

if TYPE_CHECKING:  # imported when a command runs: `COMMAND --help` stays fast
    from runnerfleet.aws.cloudformation import ChangeSet

image_app = typer.Typer(
    name="image",
    help="The baked runner image: EC2 Image Builder stack, monthly bakes (docs/image.md).",
    no_args_is_help=True,
)


@image_app.command("synth")
def synth(
    envfile: Path = typer.Argument(..., help="Environment file with an image: section."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write to FILE instead of standard output."
    ),
) -> None:
    """Write the image stack's CloudFormation template (pure: no AWS call).

    Example: runnerfleet image synth examples/fast.yaml -o image.template.json
    """
    from runnerfleet.envfile import load_environment
    from runnerfleet.stack.image import require_image, synthesize_image
    from runnerfleet.stack.template import render

    spec = load_environment(envfile)
    image = require_image(spec)
    template = synthesize_image(spec)
    text = render(template)
    err.print(
        f"{escape(str(envfile))}: image {image.name}, stack {image.stack}, "
        f"{len(template['Resources'])} resources, parameter {image.parameter}"
    )
    emit(text, output)


@image_app.command("deploy")
def deploy(
    envfile: Path = typer.Argument(..., help="Environment file with an image: section."),
    yes: bool = YES,
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
    build: bool = typer.Option(
        False, "--build", help="Start a bake now instead of waiting for the schedule."
    ),
) -> int:
    """Deploy the image stack: change set, preview, confirm, execute; seed its parameter.

    The first bake runs on the schedule (monthly), or now with --build. Until then the
    parameter holds the parent AMI, so fleets deploy and boot the cold way.

    Examples:
      runnerfleet image deploy examples/fast.yaml --build
      runnerfleet image deploy examples/fast.yaml --sandbox --yes
    """
    from runnerfleet.cli import compose
    from runnerfleet.cli.deploy_render import RichReporter, render_outputs, resource_table
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.image import deploy_image, start_bake
    from runnerfleet.stack.image import require_image

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    image = require_image(spec)
    title = f"{spec.name}: stack {image.stack} ({target.label})"

    def confirm(change_set: ChangeSet) -> bool:
        verb = "create" if change_set.change_type == "CREATE" else "update"
        out.print(f"[bold]{escape(title)}: change set to {verb}[/]")
        out.print(resource_table(change_set))
        return yes or click.confirm(f"Execute the change set of {image.stack}?")

    result = deploy_image(spec, target, reporter=RichReporter(), confirm=confirm)
    out.print(f"image stack {escape(result.stack)}: {result.outcome}")
    seeded = " (the parent AMI, until the first bake)" if result.seeded else ""
    out.print(f"{escape(result.parameter)} = {escape(result.ami_id)}{seeded}")
    render_outputs(result.stack, result.outputs, target)
    if build:
        arn = start_bake(target, result.outputs.get("PipelineArn", ""))
        logs = result.outputs.get("ImageLogGroupName", f"/aws/imagebuilder/{result.stack}")
        out.print(f"bake started: {escape(arn)} (logs: {escape(logs)})")
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(image_app)
