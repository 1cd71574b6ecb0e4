"""``access destroy``: tear operator access down in the order AWS requires.

1. Subnet associations made outside the stack (by hand, in the console) are disassociated
   first and waited for: while one remains, the endpoint cannot be deleted and the stack
   deletion would fail halfway.
2. The stack is deleted. CloudFormation removes what depends on something before the thing
   itself: routes, authorisation rules and its own subnet associations, then the endpoint,
   then the IAM SAML providers and the security group the endpoint referred to.
3. SAML providers of the stack still present afterwards are deleted.
4. The imported server certificate, which lives outside the stack (CloudFormation cannot import
   one), is deleted last: ACM refuses while the endpoint still uses it. A certificate ACM issued,
   or one that something else uses too, is kept.
5. The connection log group stays (DeletionPolicy Retain: the audit trail); the summary says
   where.

``plan_teardown`` only reads, so the CLI shows the same list for ``--dry-run`` and before
asking; ``destroy_access`` then does it, reporting a line per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from runnerfleet.access.spec import AccessSpec
from runnerfleet.aws import access_teardown as aws
from runnerfleet.aws.access_teardown import Association, Certificate
from runnerfleet.aws.access_vpn import existing_providers
from runnerfleet.aws.cloudformation import StackOperations
from runnerfleet.aws.fleet_resources import retained_resources
from runnerfleet.aws.stackstatus import StackState
from runnerfleet.errors import AbortedError, AwsError, GuardrailError, SpecError
from runnerfleet.ops.ports import SYSTEM_CLOCK, Clock, Reporter
from runnerfleet.ops.target import Target

CERT_PARAM = "ServerCertificateArn"
PROVIDER_OUTPUTS = ("VpnSamlProviderArn", "PortalSamlProviderArn")


@dataclass(frozen=True)
class Waits:
    """Bounds of the polls (Client VPN has no waiters; ACM's InUseBy lags the endpoint)."""

    poll_s: float = 10.0
    disassociate_s: float = 20 * 60
    certificate_s: float = 5 * 60


@dataclass(frozen=True)
class Teardown:
    """What ``access destroy`` will remove (and keep), read from AWS, nothing changed yet."""

    name: str
    region: str
    state: StackState | None
    endpoint_id: str | None = None
    outside: tuple[Association, ...] = ()  # associations the stack did not make
    in_stack: tuple[Association, ...] = ()
    connections: int = 0
    providers: tuple[str, ...] = ()
    certificate: Certificate | None = None
    keep_certificate: str = ""  # why the certificate stays ("" when it goes)
    retained: tuple[tuple[str, str], ...] = field(default=())

    def steps(self) -> list[tuple[str, str]]:
        """(action, what) in the order they happen: the preview and the dry run."""
        rows: list[tuple[str, str]] = []
        if self.connections:
            rows.append(("cut off", f"{self.connections} connected client(s) of the endpoint"))
        for a in self.outside:
            rows.append(("disassociate", f"{a.subnet_id} ({a.association_id}, made by hand)"))
        for a in self.in_stack:
            rows.append(("disassociate", f"{a.subnet_id} ({a.association_id}, by the stack)"))
        if self.state is not None:
            parts = "authorisation rules, routes, security group"
            what = f"endpoint {self.endpoint_id}, {parts}" if self.endpoint_id else parts
            rows.append(("delete stack", f"{self.name}: {what}"))
        rows += [("delete", f"IAM SAML provider {arn}") for arn in self.providers]
        if self.certificate is not None:
            action = "keep" if self.keep_certificate else "delete"
            why = f": {self.keep_certificate}" if self.keep_certificate else ""
            rows.append((action, f"ACM certificate {self.certificate.arn}{why}"))
        rows += [("keep", f"{kind} {name} (DeletionPolicy Retain)") for kind, name in self.retained]
        return rows


def stack_operations(target: Target) -> StackOperations:
    return StackOperations(
        target.clients.client("cloudformation"),
        resolves_ssm_parameters=target.capabilities.resolves_ssm_parameters,
    )


def plan_teardown(
    spec: AccessSpec, target: Target, *, certificate_arn: str | None, keep_certificate: bool
) -> Teardown:
    """Read the stack, its endpoint, providers and certificate; refuse an unknown stack."""
    clients = target.clients
    state = stack_operations(target).describe(spec.name)
    arn = certificate_arn or spec.server_certificate_arn
    if state is not None:
        arn = arn or state.parameters.get(CERT_PARAM)
    if state is None and not arn:
        raise SpecError(
            f"there is no access stack {spec.name} in {target.region}: nothing to destroy",
            hint="check name: in the access file and --region; if the stack is gone but its "
            "certificate is left, pass --certificate-arn ARN",
        )
    if state is not None and state.termination_protection:
        raise GuardrailError(
            f"stack {spec.name} has termination protection on",
            hint=f"turn it off first: aws cloudformation update-termination-protection "
            f"--no-enable-termination-protection --stack-name {spec.name}",
        )
    plan = Teardown(spec.name, target.region, state)
    if state is not None:
        plan = _with_stack(plan, spec, target, state)
    if arn:
        plan = _with_certificate(plan, clients.client("acm"), arn, keep_certificate)
    return plan


def _with_stack(plan: Teardown, spec: AccessSpec, target: Target, state: StackState) -> Teardown:
    cloudformation = target.clients.client("cloudformation")
    names = [spec.saml.vpn_provider_name, spec.saml.portal_provider_name]
    providers = [state.outputs[k] for k in PROVIDER_OUTPUTS if state.outputs.get(k)]
    providers = providers or existing_providers(target.clients.client("iam"), names)
    endpoint = state.outputs.get("ClientVpnEndpointId") or None
    outside: list[Association] = []
    in_stack: list[Association] = []
    connections = 0
    if endpoint is not None:
        ec2 = target.clients.client("ec2")
        networks = aws.target_networks(ec2, endpoint)
        if networks is None:
            endpoint = None  # deleted by hand: the stack deletion skips it
        else:
            made = aws.stack_association_ids(cloudformation, spec.name)
            for network in networks:
                (in_stack if network.association_id in made else outside).append(network)
            connections = aws.active_connections(ec2, endpoint)
    return replace(
        plan,
        endpoint_id=endpoint,
        outside=tuple(outside),
        in_stack=tuple(in_stack),
        connections=connections,
        providers=tuple(providers),
        retained=tuple(retained_resources(cloudformation, spec.name)),
    )


def _with_certificate(plan: Teardown, acm: object, arn: str, keep: bool) -> Teardown:
    found = aws.certificate(acm, arn)
    if found is None:
        return plan
    users = [u for u in found.in_use_by if not plan.endpoint_id or plan.endpoint_id not in u]
    reason = ""
    if keep:
        reason = "--keep-certificate"
    elif not found.imported:
        reason = "issued by ACM, not imported by `access cert`"
    elif users:
        reason = "also used by " + ", ".join(users)
    return replace(plan, certificate=found, keep_certificate=reason)


@dataclass(frozen=True)
class TornDown:
    """One line per thing touched, for the summary."""

    done: tuple[tuple[str, str], ...]


def destroy_access(
    plan: Teardown,
    target: Target,
    *,
    confirm: Callable[[Teardown], bool],
    reporter: Reporter,
    clock: Clock = SYSTEM_CLOCK,
    waits: Waits = Waits(),
) -> TornDown:
    """Do ``plan`` after ``confirm(plan)`` says yes; every step reports one line."""
    if not confirm(plan):
        raise AbortedError(f"access destroy of {plan.name} cancelled; nothing was changed")
    clients, name = target.clients, plan.name
    done: list[tuple[str, str]] = []
    if plan.outside and plan.endpoint_id:
        _disassociate(plan, clients.client("ec2"), reporter, clock, waits)
        done += [("disassociated", a.subnet_id) for a in plan.outside]
    if plan.state is not None:
        reporter.begin(name, 1)
        stack_operations(target).delete_stack(plan.state, lambda e: reporter.event(name, e))
        reporter.step(name, f"stack {name} deleted")
        done += [("disassociated", a.subnet_id) for a in plan.in_stack]
        done.append(("deleted", f"stack {name} (endpoint {plan.endpoint_id or '-'})"))
    done += _providers(plan, clients.client("iam"), reporter)
    if plan.certificate is not None and not plan.keep_certificate:
        _delete_certificate(plan, clients.client("acm"), reporter, clock, waits)
        done.append(("deleted", f"ACM certificate {plan.certificate.arn}"))
    elif plan.certificate is not None:
        done.append(("kept", f"ACM certificate {plan.certificate.arn} ({plan.keep_certificate})"))
    done += [("kept", f"{kind} {res} in {plan.region}") for kind, res in plan.retained]
    return TornDown(tuple(done))


def _disassociate(
    plan: Teardown, ec2: object, reporter: Reporter, clock: Clock, waits: Waits
) -> None:
    endpoint = plan.endpoint_id
    assert endpoint is not None
    for a in plan.outside:
        aws.disassociate(ec2, endpoint, a.association_id)
        reporter.step(plan.name, f"disassociating {a.subnet_id} ({a.association_id})")
    waiting = {a.association_id for a in plan.outside}
    deadline = clock.now() + waits.disassociate_s
    while True:
        left = {a.association_id for a in aws.target_networks(ec2, endpoint) or ()}
        if not waiting & left:
            reporter.step(plan.name, f"{len(waiting)} subnet(s) disassociated")
            return
        if clock.now() >= deadline:
            raise AwsError(
                f"{', '.join(sorted(waiting & left))} still disassociating after "
                f"{waits.disassociate_s:.0f} s; nothing else was deleted",
                hint="run `runnerfleet access destroy` again once the console shows the "
                "subnets gone",
            )
        clock.sleep(waits.poll_s)


def _providers(plan: Teardown, iam: object, reporter: Reporter) -> list[tuple[str, str]]:
    """The stack deletes its providers; delete any it left behind (a retained or skipped one)."""
    if not plan.providers:
        return []
    present = aws.saml_providers(iam)
    lines = []
    for arn in plan.providers:
        if arn in present:
            aws.delete_saml_provider(iam, arn)
            reporter.step(plan.name, f"IAM SAML provider {arn} deleted (left by the stack)")
        lines.append(("deleted", f"IAM SAML provider {arn}"))
    return lines


def _delete_certificate(
    plan: Teardown, acm: object, reporter: Reporter, clock: Clock, waits: Waits
) -> None:
    assert plan.certificate is not None
    arn, name = plan.certificate.arn, plan.name
    deadline = clock.now() + waits.certificate_s
    while not aws.delete_certificate(acm, arn):
        if clock.now() >= deadline:
            raise AwsError(
                f"ACM still counts certificate {arn} in use; everything else is gone",
                hint=f"delete it later: aws acm delete-certificate --certificate-arn {arn} "
                "(or run access destroy again with --certificate-arn)",
            )
        reporter.step(name, "ACM still lists the endpoint as a user of the certificate; waiting")
        clock.sleep(waits.poll_s)
    reporter.step(name, f"ACM certificate {arn} deleted")
