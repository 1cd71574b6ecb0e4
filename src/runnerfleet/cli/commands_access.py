"""``runnerfleet access``: operator access through AWS Client VPN with SAML single sign-on.

Parse options, call ``runnerfleet.access`` or one use case, render. ``access deploy`` runs
``runnerfleet.ops.access_deploy``, which goes through the same change-set flow as the fleet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from runnerfleet.access.preflight import VPN_PORT
from runnerfleet.cli import access_teardown
from runnerfleet.cli import findings_view as view
from runnerfleet.cli.console import err, out
from runnerfleet.cli.options import SandboxFlag
from runnerfleet.errors import ExitCode, SpecError
from runnerfleet.findings import Finding, has_errors

if TYPE_CHECKING:  # imported when a command runs: `access COMMAND --help` stays fast
    from runnerfleet.access.assertion import AssertionReport
    from runnerfleet.access.certs import CertBundle
    from runnerfleet.aws.cloudformation import ChangeSet
    from runnerfleet.ops.target import Target

access_app = typer.Typer(
    name="access",
    help=(
        "Operator access to the runners' subnets: AWS Client VPN with IAM Identity Center SSO.\n\n"
        "Typical order: `access cert --domain vpn.example.internal --import`, `access deploy "
        "access.yaml --certificate-arn ARN`, then engineers run `access preflight` and "
        "`access profile`. Troubleshoot sign-ins with `check-metadata` and `check-assertion`."
    ),
    no_args_is_help=True,
)

REGION = typer.Option(None, "--region", help="AWS region (default: $AWS_REGION or us-east-1).")
PROFILE = typer.Option(None, "--profile", help="AWS profile to use.")
AT = typer.Option(None, "--at", help="Evaluate at this instant (ISO 8601) instead of now.")


def register(app: typer.Typer) -> None:
    access_app.command("destroy")(access_teardown.destroy)
    app.add_typer(access_app, name="access")


def target_for(region: str | None, profile: str | None, sandbox: bool) -> Target:
    """access commands have no environment file: a region and a profile, or the sandbox."""
    from runnerfleet.cli import compose

    return compose.region_target(region, profile, sandbox)


def render_problems(problems: list[Finding], ok_text: str) -> None:
    view.render_findings(problems, "problems", ok_text=ok_text)


@access_app.command("cert")
def cert(
    *,
    domain: str = typer.Option(None, "--domain", help="Server name: CN and DNS SAN."),
    directory: Path = typer.Option(Path("access-pki"), "--out", help="Where the PEM files go."),
    days: int = typer.Option(825, "--days", min=1, max=3650, help="Server certificate lifetime."),
    force: bool = typer.Option(False, "--force", help="Replace an existing bundle."),
    check_only: bool = typer.Option(False, "--check", help="Only check the bundle in --out."),
    do_import: bool = typer.Option(False, "--import", help="Import into ACM (with the chain)."),
    certificate_arn: str = typer.Option(None, "--certificate-arn", help="Re-import over this."),
    region: str = REGION,
    profile: str = PROFILE,
    sandbox: SandboxFlag = False,
) -> int:
    """Make the endpoint's CA and server certificate (RSA 2048, SHA-256, serverAuth).

    Keys are written with mode 0600 and never printed. ACM does not renew imported
    certificates: rerun with --check to see the expiry, and re-import with --certificate-arn
    (the ARN, and so the endpoint, stay the same).

    Examples:
      runnerfleet access cert --domain vpn.dev.example.internal --out pki --import
      runnerfleet access cert --out pki --check
    """
    from runnerfleet.access import certs
    from runnerfleet.aws import access_vpn

    now = dt.datetime.now(dt.UTC)
    if not check_only:
        if not domain:
            raise SpecError("--domain is required", hint="e.g. --domain vpn.dev.example.internal")
        written = certs.write_bundle(
            certs.generate(domain, now, days=days), directory, overwrite=force
        )
        for path in written:
            out.print(f"wrote {escape(str(path))}")
    bundle = certs.read_bundle(directory)
    if not _bundle_checks_out(bundle, now):
        return int(ExitCode.INVALID_INPUT)
    if do_import or certificate_arn:
        acm = target_for(region, profile, sandbox).clients.client("acm")
        arn = access_vpn.import_certificate(
            acm, bundle, certificate_arn=certificate_arn, name=domain or "access"
        )
        out.print(f"imported into ACM: {arn}")
        out.print(f"next: runnerfleet access deploy ACCESS.yaml --certificate-arn {arn}")
    return 0


def _bundle_checks_out(bundle: CertBundle, now: dt.datetime) -> bool:
    from runnerfleet.access import certs

    result = certs.check_bundle(bundle, now)
    out.print(f"server certificate valid until {result.not_after:%Y-%m-%d}")
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    for error in result.errors:
        err.print(f"[red]error:[/] {escape(error)}")
    return not result.errors


@access_app.command("check-metadata")
def check_metadata_cmd(
    file: Path = typer.Argument(..., help="IdP metadata XML downloaded from the SAML app."),
    at: str = AT,
) -> int:
    """Check an IdP metadata file the way Client VPN and IAM will use it.

    Refuses DTDs, entities and oversized files; checks the signing certificate, the
    HTTP-Redirect sign-in endpoint and IAM's size limits.

    Example: runnerfleet access check-metadata vpn-client-metadata.xml
    """
    from runnerfleet.access.metadata import check_metadata, read_metadata_file, summary
    from runnerfleet.access.plan import parse_instant

    md = read_metadata_file(file)
    table = Table(show_header=False, title=str(file), title_justify="left")
    table.add_column("fact")
    table.add_column("value", overflow="fold")
    for key, value in summary(md):
        table.add_row(key, escape(value))
    out.print(table)
    problems = check_metadata(md, parse_instant(at))
    render_problems(problems, f"{file} is usable for Client VPN")
    return int(ExitCode.INVALID_INPUT) if has_errors(problems) else 0


@access_app.command("check-assertion")
def check_assertion_cmd(
    file: Path = typer.Argument(..., help="Captured SAMLResponse (base64, form data, or XML)."),
    *,
    metadata: Path = typer.Option(None, "--metadata", help="Metadata of the app signed in to."),
    config: Path = typer.Option(None, "--config", help="Access file: rules and metadata."),
    portal: bool = typer.Option(False, "--portal", help="Use the portal app's metadata."),
    group: list[str] = typer.Option([], "--group", help="NAME=ID for rules written by name."),
    at: str = AT,
) -> int:
    """Explain why a Client VPN SAML sign-in fails, from a captured SAMLResponse.

    Verifies the signature against the metadata's certificate, then checks the audience,
    NameID, memberOf (present, spelled right, group IDs), validity window and size, and
    compares the user's groups with the authorisation rules in --config.

    Capture: in the browser's devtools (Network tab) copy the SAMLResponse form field of the
    POST to http://127.0.0.1:35001, save it to a file. It holds the user's e-mail: delete it after.

    Example: runnerfleet access check-assertion resp.b64 --config access.yaml --at 2026-06-01T12:00Z
    """
    from runnerfleet.access.assertion import check_assertion
    from runnerfleet.access.limits import load_access
    from runnerfleet.access.metadata import read_metadata_file
    from runnerfleet.access.plan import group_pairs, parse_instant
    from runnerfleet.access.rules import rule_views

    spec = load_access(config) if config else None
    if metadata is None and spec is None:
        raise SpecError(
            "give --metadata FILE or --config ACCESS.yaml",
            hint="the signature is checked against the metadata's certificate",
        )
    if metadata is None and spec is not None:
        metadata = spec.resolve_path(
            spec.saml.portal_metadata if portal else spec.saml.vpn_metadata
        )
    assert metadata is not None
    overrides = group_pairs(group)  # checked even when there are no rules to apply them to
    rules = rule_views(spec, overrides) if spec else []
    raw = _read_input(file)
    report = check_assertion(raw, read_metadata_file(metadata), parse_instant(at), rules)
    _render_report(report)
    return 0 if report.ok else int(ExitCode.INVALID_INPUT)


def _read_input(file: Path) -> bytes:
    try:
        return file.read_bytes()[: 4 * 1024 * 1024]  # anything bigger is refused as oversize
    except OSError as exc:
        raise SpecError(f"cannot read {file}: {exc.strerror}", hint="check the path") from exc


def _render_report(report: AssertionReport) -> None:
    from runnerfleet.access.assertion import mask_email

    facts = report.facts
    table = Table(show_header=False, title="verified assertion", title_justify="left")
    table.add_column("fact")
    table.add_column("value", overflow="fold")
    table.add_row("signed", ", ".join(facts.signed))
    table.add_row("issuer", escape(facts.issuer))
    table.add_row("user (NameID)", escape(mask_email(facts.name_id)))
    table.add_row("memberOf", escape(", ".join(facts.groups) or "-"))
    table.add_row("size", f"{facts.encoded_size:,} bytes (limit 131,072)")
    out.print(table)
    if report.access:
        rules = Table(title="authorisation rules for this user", title_justify="left")
        for column in ("destination", "access", "why"):
            rules.add_column(column)
        for cidr, allowed, why in report.access:
            rules.add_row(cidr, "[green]yes[/]" if allowed else "[red]no[/]", escape(why))
        out.print(rules)
    render_problems(report.problems, "this assertion satisfies Client VPN")


@access_app.command("profile")
def profile(
    *,
    endpoint_id: str = typer.Option(None, "--endpoint-id", help="cvpn-endpoint-..."),
    stack: str = typer.Option(None, "--stack", help="Access stack name (reads its output)."),
    output: Path = typer.Option(Path("client-vpn.ovpn"), "--out", help="Where to write it."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
    region: str = REGION,
    profile_name: str = typer.Option(None, "--profile", help="AWS profile to use."),
) -> None:
    """Export the client configuration (.ovpn) and print the self-service portal URL.

    Refuses a configuration without `auth-federate`: the AWS VPN client would then ask for a
    username and password instead of opening the browser.

    Example: runnerfleet access profile --stack runnerfleet-dev-access --out dev.ovpn
    """
    from runnerfleet.access.profile import write_profile
    from runnerfleet.aws import access_vpn

    if not endpoint_id and not stack:
        raise SpecError("give --endpoint-id or --stack", hint="the stack's name is access.name")
    clients = target_for(region, profile_name, False).clients
    ec2 = clients.client("ec2")
    if not endpoint_id:
        endpoint_id = access_vpn.endpoint_from_stack(clients.client("cloudformation"), stack)
    config = access_vpn.export_profile(ec2, endpoint_id)
    path = write_profile(output, config, overwrite=force)
    info = access_vpn.describe_endpoint(ec2, endpoint_id)
    out.print(f"wrote {escape(str(path))} (endpoint {endpoint_id}, status {info.status})")
    portal = info.portal_url if info.portal_enabled else "disabled (self_service_portal: false)"
    out.print(f"self-service portal: {portal}")
    out.print("open it in the AWS VPN client (File > Manage profiles > Add profile)")


@access_app.command("preflight")
def preflight(
    port: int = typer.Option(VPN_PORT, "--port", help="The AWS VPN client's SAML listener."),
) -> int:
    """Check this machine is ready for SSO sign-in: TCP 35001 free on 127.0.0.1.

    The AWS VPN client receives the SAML response from the browser on 127.0.0.1:35001; if
    another program holds it the client fails with "no available ports".

    Example: runnerfleet access preflight
    """
    from runnerfleet.access.preflight import port_free

    free, text = port_free(port)
    if free:
        out.print(f"[green]ok[/] {text}")
        return 0
    out.print(f"[red]problem[/] {text}")
    err.print(
        f"fix: find it with `lsof -iTCP:{port} -sTCP:LISTEN` (or `netstat -ano | findstr "
        f"{port}` on Windows), stop it, and allow the port on localhost in your firewall"
    )
    return int(ExitCode.ERROR)


@access_app.command("deploy")
def deploy(
    config: Path = typer.Argument(..., help="Access file (or environment file with access:)."),
    *,
    output: Path = typer.Option(None, "--output", help="Only write the template to FILE."),
    certificate_arn: str = typer.Option(None, "--certificate-arn", help="ACM server cert ARN."),
    group: list[str] = typer.Option([], "--group", help="NAME=ID instead of an AWS lookup."),
    yes: bool = typer.Option(False, "--yes", help="Execute without asking."),
    allow_replace: bool = typer.Option(False, "--allow-replace", help="Allow a new endpoint."),
    region: str = REGION,
    profile_name: str = typer.Option(None, "--profile", help="AWS profile to use."),
    sandbox: SandboxFlag = False,
) -> int:
    """Deploy the access stack through a change set: preview, confirm, live events.

    Everything local is checked first (limits, both metadata files); group display names are
    resolved to Identity Store group IDs; a change that would replace the endpoint or a SAML
    provider is refused (a metadata rotation updates the provider in place).

    Examples:
      runnerfleet access deploy access.yaml --output access.json --group 'Runner Operators=ID'
      runnerfleet access deploy access.yaml --certificate-arn arn:aws:acm:...
    """
    from runnerfleet.access.limits import load_access
    from runnerfleet.access.plan import group_pairs
    from runnerfleet.cli.deploy_render import RichReporter
    from runnerfleet.ops import access_deploy

    spec = load_access(config)
    overrides = group_pairs(group)
    now = dt.datetime.now(dt.UTC)
    if output is not None:
        needs_aws = access_deploy.needs_aws_for_names(spec, overrides)
        target = target_for(region, profile_name, sandbox) if needs_aws else None
        plan = access_deploy.write_template(spec, now, overrides, target, output)
        _warn(plan.warnings)
        out.print(f"wrote {escape(str(output))} ({len(plan.template['Resources'])} resources)")
        return 0
    done = access_deploy.deploy_access(
        spec,
        target_for(region, profile_name, sandbox),
        now,
        overrides,
        certificate_arn,
        allow_replace=allow_replace,
        reporter=RichReporter(),
        confirm=_confirm(spec.name, yes),
    )
    if done.outcome == "no changes":
        out.print(f"{spec.name}: no changes")
        return 0
    out.print(f"{spec.name}: {done.status}")
    for key, value in sorted(done.outputs.items()):
        out.print(f"  {key}: {escape(value)}")
    out.print("console step: paste SelfServicePortalUrl as the self-service app's start URL")
    return 0


def _confirm(name: str, yes: bool) -> Callable[[ChangeSet, Sequence[str]], bool]:
    def confirm(change_set: ChangeSet, warnings: Sequence[str]) -> bool:
        _warn(warnings)
        _preview(change_set)
        return yes or typer.confirm(f"execute this change set on {name}?", default=False)

    return confirm


def _warn(lines: Sequence[str]) -> None:
    for line in lines:
        err.print(f"[yellow]warning:[/] {escape(line)}")


def _preview(change_set: ChangeSet) -> None:
    table = Table(title=f"change set ({change_set.change_type})", title_justify="left")
    for column in ("action", "logical id", "type", "replacement"):
        table.add_column(column)
    for c in change_set.changes:
        table.add_row(c.action, c.logical_id, c.resource_type, c.replacement or "-")
    out.print(table)
