"""The AWS calls of the access feature that are not stack operations (boto3 adapter).

Clients are passed in; failures go through the one translator (``runnerfleet.aws.awscall``).

* ACM import of the server certificate with its chain (CloudFormation cannot import one);
* export of the client configuration (.ovpn), which must carry ``auth-federate`` for SAML;
* the self-service portal URL and endpoint facts, the VPC and its subnets;
* IAM SAML providers that already exist outside the stack (a create would collide).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import botocore.exceptions

from runnerfleet.aws.awscall import translate
from runnerfleet.errors import AwsError, SpecError


class PemBundle(Protocol):
    """The server certificate, its key and the CA chain, PEM encoded (access.certs makes one)."""

    @property
    def cert_pem(self) -> bytes: ...
    @property
    def key_pem(self) -> bytes: ...
    @property
    def ca_pem(self) -> bytes: ...


def import_certificate(
    acm: Any, bundle: PemBundle, *, certificate_arn: str | None = None, name: str = ""
) -> str:
    """Import (or re-import over ``certificate_arn``, keeping the ARN) and return the ARN."""
    args: dict[str, Any] = {
        "Certificate": bundle.cert_pem,
        "PrivateKey": bundle.key_pem,
        "CertificateChain": bundle.ca_pem,
    }
    if certificate_arn:
        args["CertificateArn"] = certificate_arn  # rotation: the endpoint keeps its reference
    else:
        args["Tags"] = [{"Key": "runnerfleet:access", "Value": name or "access"}]
    try:
        return str(acm.import_certificate(**args)["CertificateArn"])
    except botocore.exceptions.ClientError as exc:
        # The message may quote the request; never echo it (it could contain the key).
        raise translate(
            exc,
            "importing the certificate into ACM",
            quote=False,
            hint="run `runnerfleet access cert --out DIR --check` to see what ACM objects to "
            "(validity, key size, chain)",
        ) from None


def certificate_warnings(acm: Any, arn: str, now: dt.datetime, warn_days: int = 30) -> list[str]:
    """Refuse a missing or expired server certificate; warn when it expires soon."""
    try:
        cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    except botocore.exceptions.ClientError as exc:
        raise translate(
            exc,
            f"reading server certificate {arn}",
            hint="check --certificate-arn and the region (ACM is regional)",
        ) from exc
    not_after = cert.get("NotAfter")
    if not_after is not None and not_after <= now:
        raise SpecError(
            f"the server certificate expired on {not_after:%Y-%m-%d}",
            hint="generate a new one and re-import it: runnerfleet access cert "
            f"--domain NAME --force --certificate-arn {arn}",
        )
    if not_after is not None and not_after - now <= dt.timedelta(days=warn_days):
        return [
            f"the server certificate expires on {not_after:%Y-%m-%d}; ACM does not renew "
            f"imported certificates: re-import with --certificate-arn {arn}"
        ]
    return []


@dataclass(frozen=True)
class NetworkFacts:
    """What AWS knows of a VPC and subnets: the VPC's CIDRs (None: no such VPC) and, per
    subnet that exists, its VPC and Availability Zone."""

    vpc_cidrs: frozenset[str] | None
    subnets: dict[str, tuple[str, str]]


def describe_network(ec2: Any, vpc_id: str, subnet_ids: Sequence[str]) -> NetworkFacts:
    try:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": list(subnet_ids)}])[
            "Subnets"
        ]
    except botocore.exceptions.ClientError as exc:
        raise translate(
            exc,
            "reading the VPC and subnets",
            hint="the caller needs ec2:DescribeVpcs and ec2:DescribeSubnets",
        ) from exc
    cidrs = None
    if vpcs:
        cidrs = {str(a.get("CidrBlock")) for a in vpcs[0].get("CidrBlockAssociationSet", [])}
        cidrs.add(str(vpcs[0].get("CidrBlock")))
    found = {
        str(n["SubnetId"]): (str(n.get("VpcId")), str(n.get("AvailabilityZone"))) for n in subnets
    }
    return NetworkFacts(frozenset(cidrs) if cidrs is not None else None, found)


@dataclass(frozen=True)
class EndpointInfo:
    endpoint_id: str
    status: str
    dns_name: str
    portal_url: str
    portal_enabled: bool


def describe_endpoint(ec2: Any, endpoint_id: str) -> EndpointInfo:
    try:
        found = ec2.describe_client_vpn_endpoints(ClientVpnEndpointIds=[endpoint_id])
    except botocore.exceptions.ClientError as exc:
        raise translate(
            exc,
            f"describing Client VPN endpoint {endpoint_id}",
            hint="check the endpoint ID, region and credentials",
        ) from exc
    endpoints = found.get("ClientVpnEndpoints", [])
    if not endpoints:
        raise AwsError(
            f"Client VPN endpoint {endpoint_id} not found",
            hint="check the region, or deploy it: runnerfleet access deploy",
        )
    ep = endpoints[0]
    return EndpointInfo(
        endpoint_id=endpoint_id,
        status=str(ep.get("Status", {}).get("Code", "unknown")),
        dns_name=str(ep.get("DnsName", "")),
        portal_url=str(ep.get("SelfServicePortalUrl") or ""),
        portal_enabled=ep.get("SelfServicePortalUrl") is not None,
    )


def export_profile(ec2: Any, endpoint_id: str) -> str:
    """The .ovpn text; refuses one without ``auth-federate`` (the client would ask a password)."""
    try:
        answer = ec2.export_client_vpn_client_configuration(ClientVpnEndpointId=endpoint_id)
    except botocore.exceptions.ClientError as exc:
        raise translate(
            exc,
            f"exporting the client configuration of {endpoint_id}",
            hint="check the endpoint ID and region; the caller needs "
            "ec2:ExportClientVpnClientConfiguration",
        ) from exc
    config = str(answer.get("ClientConfiguration", ""))
    directives = {line.strip().split(" ", 1)[0] for line in config.splitlines()}
    if "auth-federate" not in directives:
        raise AwsError(
            f"the configuration of {endpoint_id} has no auth-federate directive",
            hint="the endpoint does not use SAML federated authentication: the AWS VPN client "
            "would show a username/password prompt; redeploy with runnerfleet access deploy",
        )
    return config


def endpoint_from_stack(cloudformation: Any, stack_name: str) -> str:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        raise translate(
            exc,
            f"reading stack {stack_name}",
            hint="check --stack, the region, or pass --endpoint-id",
        ) from exc
    for output in stacks[0].get("Outputs", []):
        if output.get("OutputKey") == "ClientVpnEndpointId":
            return str(output["OutputValue"])
    raise AwsError(
        f"stack {stack_name} has no ClientVpnEndpointId output",
        hint="is it the access stack? pass --endpoint-id cvpn-endpoint-...",
    )


def existing_providers(iam: Any, names: list[str]) -> list[str]:
    """ARNs of IAM SAML providers already named like ours (made by hand, or by another stack)."""
    try:
        listed = iam.list_saml_providers().get("SAMLProviderList", [])
    except botocore.exceptions.ClientError as exc:
        raise translate(
            exc,
            "listing IAM SAML providers",
            hint="the caller needs iam:ListSAMLProviders",
        ) from exc
    wanted = {f"saml-provider/{n}" for n in names}
    return sorted(str(p["Arn"]) for p in listed if str(p["Arn"]).split(":", 5)[-1] in wanted)
