"""The AWS calls that tear operator access down (boto3 adapter for ``access destroy``).

AWS's order: an endpoint cannot be deleted while a target network is associated
(DeleteClientVpnEndpoint: "You must disassociate all target networks before you can delete a
Client VPN endpoint"), and ACM refuses to delete a certificate another service still uses
(DeleteCertificate: ResourceInUseException). Client VPN has no botocore waiters: callers poll.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from runnerfleet.aws.awscall import aws_call, error_code, translate

ASSOCIATION_TYPE = "AWS::EC2::ClientVpnTargetNetworkAssociation"
GONE_ASSOCIATION = frozenset({"disassociated"})
ENDPOINT_MISSING = frozenset({"InvalidClientVpnEndpointId.NotFound", "InvalidClientVpnEndpointId"})
EC2_HINT = "the caller needs ec2:DescribeClientVpn* and ec2:DisassociateClientVpnTargetNetwork"


@dataclass(frozen=True)
class Association:
    association_id: str
    subnet_id: str
    status: str


@dataclass(frozen=True)
class Certificate:
    arn: str
    domain: str
    imported: bool
    in_use_by: tuple[str, ...]


def _pages(ec2: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in ec2.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key) or []


def target_networks(ec2: Any, endpoint_id: str) -> list[Association] | None:
    """The endpoint's subnet associations still present; None when the endpoint is gone."""
    try:
        rows = list(
            _pages(
                ec2,
                "describe_client_vpn_target_networks",
                "ClientVpnTargetNetworks",
                ClientVpnEndpointId=endpoint_id,
            )
        )
    except Exception as exc:
        if error_code(exc) in ENDPOINT_MISSING:
            return None
        raise translate(exc, f"listing the subnets of {endpoint_id}", EC2_HINT) from exc
    found = [
        Association(
            str(row.get("AssociationId", "")),
            str(row.get("TargetNetworkId", "")),
            str((row.get("Status") or {}).get("Code", "unknown")),
        )
        for row in rows
    ]
    return [a for a in found if a.status not in GONE_ASSOCIATION]


def active_connections(ec2: Any, endpoint_id: str) -> int:
    """How many clients are connected now (they are cut off by the first disassociation)."""
    rows = aws_call(
        lambda: list(
            _pages(
                ec2,
                "describe_client_vpn_connections",
                "Connections",
                ClientVpnEndpointId=endpoint_id,
            )
        ),
        f"listing the connections of {endpoint_id}",
        EC2_HINT,
    )
    return sum(1 for row in rows if (row.get("Status") or {}).get("Code") == "active")


def disassociate(ec2: Any, endpoint_id: str, association_id: str) -> None:
    aws_call(
        lambda: ec2.disassociate_client_vpn_target_network(
            ClientVpnEndpointId=endpoint_id, AssociationId=association_id
        ),
        f"disassociating {association_id} from {endpoint_id}",
        EC2_HINT,
    )


def stack_association_ids(cloudformation: Any, stack: str) -> set[str]:
    """The associations the stack made (CloudFormation removes those itself, in order)."""
    pages = aws_call(
        lambda: list(
            cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
        ),
        f"listing the resources of {stack}",
    )
    return {
        str(row["PhysicalResourceId"])
        for page in pages
        for row in page.get("StackResourceSummaries", [])
        if row.get("ResourceType") == ASSOCIATION_TYPE and row.get("PhysicalResourceId")
    }


def certificate(acm: Any, arn: str) -> Certificate | None:
    """The certificate's kind and users; None when ACM has no such certificate."""
    try:
        found = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    except Exception as exc:
        if error_code(exc) in ("ResourceNotFoundException", "InvalidArnException"):
            return None
        raise translate(exc, f"reading certificate {arn}", "check the region") from exc
    return Certificate(
        arn,
        str(found.get("DomainName", "")),
        found.get("Type") == "IMPORTED",
        tuple(str(user) for user in found.get("InUseBy") or ()),
    )


def delete_certificate(acm: Any, arn: str) -> bool:
    """Delete it; False while ACM still counts it in use (its InUseBy lags the endpoint)."""
    try:
        acm.delete_certificate(CertificateArn=arn)
    except Exception as exc:
        if error_code(exc) == "ResourceInUseException":
            return False
        if error_code(exc) == "ResourceNotFoundException":
            return True
        raise translate(
            exc, f"deleting certificate {arn}", "the caller needs acm:DeleteCertificate"
        ) from exc
    return True


def saml_providers(iam: Any) -> set[str]:
    listed = aws_call(
        lambda: iam.list_saml_providers().get("SAMLProviderList", []),
        "listing IAM SAML providers",
        "the caller needs iam:ListSAMLProviders",
    )
    return {str(p["Arn"]) for p in listed}


def delete_saml_provider(iam: Any, arn: str) -> None:
    aws_call(
        lambda: iam.delete_saml_provider(SAMLProviderArn=arn),
        f"deleting SAML provider {arn}",
        "the caller needs iam:DeleteSAMLProvider",
    )
