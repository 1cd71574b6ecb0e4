"""The command table: which modules define each command, imported only when it is needed.

``runnerfleet --help`` lists the commands from this table without importing any of their
modules (so no boto3, pydantic or cryptography at start-up); ``runnerfleet COMMAND ...`` and
``runnerfleet COMMAND --help`` import that command's modules only. Typer builds the real
command from the modules' ``register(app)``, so its help, options and arguments are exactly
the ones it runs with. ``tests/cli/test_startup.py`` holds the table to the modules: every
command listed, each summary equal to the first line of the command's docstring.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

# command -> (modules under runnerfleet.cli that register it, the summary --help lists)
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "schema": (
        ("commands_envfile",),
        "Print the JSON Schema of environment files, for editor completion.",
    ),
    "validate": (
        ("commands_envfile",),
        "Validate environment files and run the guardrails; every problem is reported at once.",
    ),
    "import-properties": (
        ("commands_envfile",),
        "Turn the original sample's properties file into an environment file.",
    ),
    "synth": (
        ("commands_synth",),
        "Write the CloudFormation template of an environment (pure: no AWS call).",
    ),
    "deploy": (
        ("commands_deploy",),
        "Deploy environments: validate, package, upload, change set, preview, confirm, execute.",
    ),
    "diff": (
        ("commands_deploy",),
        "Show what deploy would change (a change set, deleted afterwards); changes nothing.",
    ),
    "status": (
        ("commands_deploy",),
        "Show the stack's status, termination protection and its latest events.",
    ),
    "outputs": (("commands_deploy",), "Print the stack's outputs (ASG name, function names, ...)."),
    "destroy": (
        ("commands_deploy",),
        "Delete an environment: drain the fleet to zero, delete the stack, prune GitLab runners.",
    ),
    "runners": (
        ("commands_runners",),
        "GitLab runners of an environment: create them, list them, prune leftovers.",
    ),
    "fleet": (
        ("commands_fleet",),
        "Show the fleet now: instances, runners, GitLab managers, decisions, alarms.",
    ),
    "why": (("commands_why",), "Explain why a job waited, from GitLab's and the fleet's records."),
    "autoscale": (
        ("commands_autoscale",),
        "Run one autoscaler evaluation now and show the decision with its reasons.",
    ),
    "relaunch": (
        ("commands_ops",),
        "Replace every instance (instance refresh); old ones drain through the terminate hook.",
    ),
    "terminate": (
        ("commands_ops",),
        "Terminate one instance through the Auto Scaling group, so the hook drains it first.",
    ),
    "logs": (
        ("commands_ops",),
        "Print the fleet's bootstrap, runner and drain logs from CloudWatch Logs, oldest first.",
    ),
    "doctor": (
        ("commands_ops",),
        "Preflight and troubleshooting: every check runs and every finding is reported.",
    ),
    "simulate": (
        ("commands_sim",),
        "Replay a CI trace through scaling policies and compare wait against cost.",
    ),
    "tune": (
        ("commands_sim",),
        "Find the cheapest parameters of a policy that meet a p95 queue-wait target.",
    ),
    "trace": (("commands_sim",), "Prepare workload traces for the simulator."),
    "access": (
        ("commands_access",),
        "Operator access to the runners' subnets: AWS Client VPN with IAM Identity Center SSO.",
    ),
    "stackset": (
        ("commands_stackset",),
        "Deploy one environment to many accounts and regions (CloudFormation StackSets).",
    ),
    "image": (
        ("commands_image",),
        "The baked runner image: EC2 Image Builder stack, monthly bakes (docs/image.md).",
    ),
    "sandbox": (
        ("commands_sandbox", "commands_demo"),
        "The sandbox twin (moto behind one AWS endpoint) on 127.0.0.1: no AWS account needed.",
    ),
}


class LazyGroup(TyperGroup):
    """A root group whose commands are stand-ins until one is resolved to run or to help."""

    _listing: ClassVar[bool] = False  # True while the root's own help lists the commands
    _loaded: ClassVar[dict[str, _click.Command]] = {}  # per process: modules register once

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in COMMANDS:
            return found
        modules, summary = COMMANDS[cmd_name]
        if LazyGroup._listing:
            return TyperCommand(cmd_name, short_help=summary)
        if cmd_name not in LazyGroup._loaded:
            LazyGroup._loaded.update(load(modules))
        return LazyGroup._loaded.get(cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        LazyGroup._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            LazyGroup._listing = False


def load(modules: tuple[str, ...]) -> dict[str, _click.Command]:
    """Import the modules and return every command they register, built by typer."""
    holder = typer.Typer()
    holder.callback()(_no_op)  # a group even when the modules register one command
    for module in modules:
        importlib.import_module(f"runnerfleet.cli.{module}").register(holder)
    group: Any = typer.main.get_command(holder)
    return dict(group.commands)


def _no_op() -> None:
    return None
