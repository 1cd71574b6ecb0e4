"""Commands that only read files: validate, schema, import-properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from runnerfleet.cli import findings_view as view
from runnerfleet.cli.console import err, out
from runnerfleet.cli.output import write_output
from runnerfleet.errors import ExitCode

if TYPE_CHECKING:  # imported when a command runs: `COMMAND --help` stays fast
    from runnerfleet.envfile.guardrails import Finding
    from runnerfleet.envfile.models import FleetSpec

POLICY_OPTION = typer.Option(
    None,
    "--policy",
    envvar="RUNNERFLEET_POLICY",
    help="Organisation policy file (YAML); also from $RUNNERFLEET_POLICY.",
)


def schema() -> None:
    """Print the JSON Schema of environment files, for editor completion.

    Example: runnerfleet schema > runnerfleet.schema.json, then add
    `# yaml-language-server: $schema=runnerfleet.schema.json` at the top of your files.
    """
    from runnerfleet.envfile.models import FleetSpec

    out.print_json(json.dumps(FleetSpec.model_json_schema()))


def validate(
    envfiles: list[Path] = typer.Argument(..., help="Environment files to check."),
    policy: Path | None = POLICY_OPTION,
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
) -> int:
    """Validate environment files and run the guardrails; every problem is reported at once.

    Exit codes: 0 clean (warnings allowed), 2 a file is invalid, 3 a guardrail failed.

    Example: runnerfleet validate examples/dev.yaml examples/prod.yaml
    --policy examples/org-policy.yaml
    """
    from runnerfleet.envfile import load_environments
    from runnerfleet.envfile.guardrails import check, has_errors
    from runnerfleet.envfile.loader import locate_findings
    from runnerfleet.envfile.policy import load_policy

    specs = load_environments(envfiles)
    org = load_policy(policy)
    failed = False
    for path, spec in zip(envfiles, specs, strict=True):
        findings = locate_findings(path, check(spec, org))
        render_findings(str(path), spec, findings)
        failed |= has_errors(findings) or (strict and bool(findings))
    return int(ExitCode.GUARDRAIL) if failed else 0


def render_findings(path: str, spec: FleetSpec, findings: list[Finding]) -> None:
    title = f"{path}: environment {spec.name}, stack {spec.stack}"
    view.render_findings(findings, title)


def import_properties_command(
    properties: Path = typer.Argument(..., help="The seed's KEY=value properties file."),
    account_id: str = typer.Option(..., "--account-id", help="12-digit AWS account id."),
    region: str = typer.Option(..., "--region", help="AWS region, e.g. us-east-1."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here, not stdout."),
) -> int:
    """Turn the original sample's properties file into an environment file.

    The file is parsed as data and never executed. Tokens are not copied: each becomes a
    reference to an SSM SecureString parameter, with a warning that says how to store it; a
    secret under any other key (or inside a URL) is refused. The output file is written 0600.

    Example: runnerfleet import-properties sample-runner.properties --account-id 123456789012
    --region us-east-1 -o envs/dev.yaml
    """
    import yaml

    from runnerfleet.envfile.properties import import_properties

    result = import_properties(properties, account_id=account_id, region=region)
    text = "# Imported by `runnerfleet import-properties` from the seed properties file.\n"
    text += yaml.safe_dump(result.environment, sort_keys=False)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    if output is None:
        out.print(text, markup=False, end="")
        return 0
    write_output(output, text, private=True)
    err.print(f"wrote {escape(str(output))}; check it with `runnerfleet validate {output}`")
    return 0


def register(app: typer.Typer) -> None:
    app.command()(schema)
    app.command()(validate)
    app.command("import-properties")(import_properties_command)
