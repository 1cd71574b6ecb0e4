"""Commands that only read environment files: validate, schema, import-properties."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from runnerfleet.cli.console import out
from runnerfleet.spec import load_environments
from runnerfleet.spec.models import FleetSpec


def schema() -> None:
    """Print the JSON Schema of environment files, for editor completion.

    Example: runnerfleet schema > runnerfleet.schema.json, then point your editor's YAML
    language server at it (`# yaml-language-server: $schema=runnerfleet.schema.json`).
    """
    out.print_json(json.dumps(FleetSpec.model_json_schema()))


def validate(
    envfiles: list[Path] = typer.Argument(..., help="Environment files to check."),
) -> int:
    """Validate environment files: structure, types, bounds and secrets; all problems at once.

    Example: runnerfleet validate examples/dev.yaml examples/prod.yaml
    """
    specs = load_environments(envfiles)
    for path, spec in zip(envfiles, specs, strict=True):
        out.print(f"[green]ok[/] {path}: environment {spec.name}, stack {spec.stack}")
    return 0


def register(app: typer.Typer) -> None:
    app.command()(schema)
    app.command()(validate)
