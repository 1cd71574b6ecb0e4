"""``runnerfleet access destroy``: the preview, the confirmation and the summary.

The order and the AWS calls are the use case's (``runnerfleet.ops.access_destroy``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from runnerfleet.cli.confirm import typed_name
from runnerfleet.cli.console import out
from runnerfleet.cli.options import SandboxFlag

if TYPE_CHECKING:  # imported when the command runs: `access destroy --help` stays fast
    from runnerfleet.ops.access_destroy import Teardown

REGION = typer.Option(None, "--region", help="AWS region (default: $AWS_REGION or us-east-1).")
PROFILE = typer.Option(None, "--profile", help="AWS profile to use.")


def destroy(
    config: Path = typer.Argument(..., help="Access file (or environment file with access:)."),
    *,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for the stack name."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would go."),
    keep_certificate: bool = typer.Option(
        False, "--keep-certificate", help="Leave the imported server certificate in ACM."
    ),
    certificate_arn: str = typer.Option(
        None, "--certificate-arn", help="The certificate, when the stack is already gone."
    ),
    region: str = REGION,
    profile_name: str = PROFILE,
    sandbox: SandboxFlag = False,
) -> int:
    """Tear operator access down: subnets, endpoint (the stack), SAML providers, certificate.

    Follows AWS's order: subnets associated by hand are disassociated first (an endpoint
    cannot be deleted while one is associated), then the stack goes (routes, rules, its own
    associations, the endpoint, the SAML providers, the security group), then the imported
    server certificate. The connection log group is kept (the audit trail). Connected
    engineers are cut off. You confirm by typing the stack name (or pass --yes).

    Examples:
      runnerfleet access destroy access.yaml --dry-run
      runnerfleet access destroy access.yaml --yes
    """
    from runnerfleet.access.limits import load_access
    from runnerfleet.cli import compose
    from runnerfleet.cli.deploy_render import RichReporter
    from runnerfleet.ops import access_destroy

    spec = load_access(config)
    target = compose.region_target(region, profile_name, sandbox)
    plan = access_destroy.plan_teardown(
        spec, target, certificate_arn=certificate_arn, keep_certificate=keep_certificate
    )
    _teardown_preview(plan)
    if dry_run:
        out.print("dry run: nothing was changed")
        return 0

    done = access_destroy.destroy_access(
        plan,
        target,
        confirm=lambda p: typed_name("stack", p.name, yes=yes),
        reporter=RichReporter(),
    )
    table = Table(title=f"{plan.name}: access torn down", title_justify="left")
    table.add_column("outcome")
    table.add_column("what", overflow="fold")
    for outcome, what in done.done:
        table.add_row(outcome, escape(what))
    out.print(table)
    for kind, name in plan.retained:
        out.print(
            f"{kind} {escape(name)} stays (the audit trail); delete it when no longer needed: "
            f"aws logs delete-log-group --log-group-name {escape(name)}"
        )
    return 0


def _teardown_preview(plan: Teardown) -> None:
    table = Table(title=f"access destroy {plan.name} ({plan.region})", title_justify="left")
    for column in ("step", "action", "what"):
        table.add_column(column)
    for number, (action, what) in enumerate(plan.steps(), start=1):
        style = "green" if action == "keep" else "red"
        table.add_row(str(number), f"[{style}]{action}[/]", escape(what))
    out.print(table)
