"""``runnerfleet synth``: the CloudFormation template (or its parameters) of an environment."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from runnerfleet.cli.console import emit, err


def synth(
    envfile: Path = typer.Argument(..., help="Environment file to synthesize."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write to FILE instead of standard output."
    ),
    params: bool = typer.Option(
        False, "--params", help="Emit the parameter values (CLI format) instead of the template."
    ),
    code_key: str | None = typer.Option(
        None, "--code-key", help="S3 key of the Lambda artefact, for --params."
    ),
) -> None:
    """Write the CloudFormation template of an environment (pure: no AWS call).

    The same file always gives the same bytes, so the output can be diffed and reviewed.

    Examples:

      runnerfleet synth examples/dev.yaml -o dev.template.json

      runnerfleet synth examples/dev.yaml --params --code-key runnerfleet/lambda/x.zip
    """
    from runnerfleet.envfile import load_environment
    from runnerfleet.stack.params import parameter_values
    from runnerfleet.stack.template import INLINE_BODY_LIMIT, body_size, render, synthesize

    spec = load_environment(envfile)
    template = synthesize(spec)
    if params:
        text = _params_text(
            spec_values=parameter_values(spec, code_key or ""), keep_code=bool(code_key)
        )
        if not code_key:
            err.print("note: CodeKey left out; runnerfleet deploy fills it (or pass --code-key)")
    else:
        text = render(template)
        size = body_size(template)
        where = "inline" if size <= INLINE_BODY_LIMIT else "through S3 (TemplateURL)"
        err.print(
            f"{escape(str(envfile))}: {len(template['Resources'])} resources, "
            f"{size} bytes as sent ({where}; inline limit {INLINE_BODY_LIMIT})"
        )
    emit(text, output)


def _params_text(spec_values: dict[str, str], keep_code: bool) -> str:
    rows = [
        {"ParameterKey": k, "ParameterValue": v}
        for k, v in sorted(spec_values.items())
        if keep_code or k != "CodeKey"
    ]
    return json.dumps(rows, indent=1) + "\n"


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
