"""Pure synthesis of the access stack: AccessSpec + metadata + group IDs -> CloudFormation.

Stability is the point. Almost every Client VPN property is create-only, and a new SAML provider
ARN would replace the endpoint (new DNS name: every user's profile breaks). So:

* the SAML providers keep one logical ID and one ``Name``; a metadata rotation only changes
  ``SamlMetadataDocument``, which IAM updates in place (same ARN);
* the portal provider always exists (``SelfServiceSAMLProviderArn`` is create-only); turning the
  portal on or off flips ``SelfServicePortal``, which is not;
* rules, routes and associations get logical IDs from their content, so reordering the YAML
  changes nothing;
* the endpoint refers to providers with ``Ref`` (which returns the ARN), not ``GetAtt``.

Same inputs, same bytes: the output is deterministic.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from runnerfleet.access.spec import AccessSpec, AuthRule
from runnerfleet.errors import SpecError

ENDPOINT = "ClientVpnEndpoint"
VPN_PROVIDER, PORTAL_PROVIDER = "VpnSamlProvider", "PortalSamlProvider"
LOG_GROUP, SECURITY_GROUP = "ConnectionLogGroup", "EndpointSecurityGroup"
CERT_PARAM = "ServerCertificateArn"
PORTAL_URL = "https://self-service.clientvpn.amazonaws.com/endpoints/"

Json = dict[str, Any]

# The one checkov finding we accept, and only while no customer managed key is configured.
LOG_KMS_SKIP = (
    "connection logs hold no secrets and CloudWatch encrypts them at rest; "
    "set access.logging.kms_key_arn to use a customer managed key"
)


def _lid(prefix: str, *parts: str) -> str:
    """A logical ID from content: stable across reordering, changes only when the thing does."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:10].upper()
    return f"{prefix}{digest}"


def _tags(spec: AccessSpec) -> list[Json]:
    # Kept minimal and constant: TagSpecifications on the endpoint is create-only.
    return [{"Key": "Name", "Value": spec.name}, {"Key": "runnerfleet:access", "Value": spec.name}]


def synthesize(
    spec: AccessSpec, vpn_metadata: str, portal_metadata: str, group_ids: Mapping[str, str]
) -> Json:
    """The access stack template as a dict (see :func:`render` for the bytes)."""
    resources: Json = {
        VPN_PROVIDER: _provider(spec, spec.saml.vpn_provider_name, vpn_metadata),
        PORTAL_PROVIDER: _provider(spec, spec.saml.portal_provider_name, portal_metadata),
        SECURITY_GROUP: _security_group(spec),
        ENDPOINT: _endpoint(spec),
    }
    if spec.logging.enabled:
        resources[LOG_GROUP] = _log_group(spec)
    associations = {s.id: _lid("Association", s.id) for s in spec.subnets}
    for subnet_id, lid in associations.items():
        resources[lid] = _resource(
            "AWS::EC2::ClientVpnTargetNetworkAssociation",
            {"ClientVpnEndpointId": {"Ref": ENDPOINT}, "SubnetId": subnet_id},
        )
    for rule in spec.rules:
        gid = _group_id(rule, group_ids)
        resources[_lid("AuthRule", rule.cidr, gid or "*")] = _auth_rule(rule, gid)
    for route in spec.routes:
        for subnet_id, assoc in associations.items():
            resources[_lid("Route", route.cidr, subnet_id)] = _route(
                route.cidr, subnet_id, route.description, assoc
            )
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"runnerfleet operator access ({spec.name}): Client VPN with SAML SSO",
        "Parameters": _parameters(),
        "Resources": resources,
        "Outputs": _outputs(spec),
    }


def render(template: Json) -> str:
    return json.dumps(template, indent=2, sort_keys=True) + "\n"


def _resource(kind: str, props: Json, **extra: Any) -> Json:
    return {"Type": kind, "Properties": props, **extra}


def _provider(spec: AccessSpec, name: str, document: str) -> Json:
    return _resource(
        "AWS::IAM::SAMLProvider",
        {"Name": name, "SamlMetadataDocument": document, "Tags": _tags(spec)},
    )


def _group_id(rule: AuthRule, group_ids: Mapping[str, str]) -> str | None:
    if rule.authorize_all:
        return None
    if rule.group_id:
        return rule.group_id
    assert rule.group is not None  # check_limits guarantees one of the three
    if rule.group not in group_ids:
        raise SpecError(
            f"group {rule.group!r} was not resolved to a group ID",
            hint="resolve display names first (runnerfleet access deploy does), or "
            "write group_id: <id> in the rule",
        )
    return group_ids[rule.group]


def _auth_rule(rule: AuthRule, group_id: str | None) -> Json:
    props: Json = {"ClientVpnEndpointId": {"Ref": ENDPOINT}, "TargetNetworkCidr": rule.cidr}
    if group_id is None:
        props["AuthorizeAllGroups"] = True
    else:
        props["AccessGroupId"] = group_id
    if rule.description:
        props["Description"] = rule.description
    return _resource("AWS::EC2::ClientVpnAuthorizationRule", props)


def _route(cidr: str, subnet_id: str, description: str, association: str) -> Json:
    props: Json = {
        "ClientVpnEndpointId": {"Ref": ENDPOINT},
        "DestinationCidrBlock": cidr,
        "TargetVpcSubnetId": subnet_id,
    }
    if description:
        props["Description"] = description
    # A route needs its subnet associated first; CloudFormation cannot infer that.
    return _resource("AWS::EC2::ClientVpnRoute", props, DependsOn=[association])


def _log_group(spec: AccessSpec) -> Json:
    props: Json = {"RetentionInDays": spec.logging.retention_days}
    extra: Json = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}  # audit trail
    if spec.logging.kms_key_arn:
        props["KmsKeyId"] = spec.logging.kms_key_arn
    else:
        extra["Metadata"] = {
            "checkov": {
                "skip": [
                    {
                        "id": "CKV_AWS_158",
                        "comment": LOG_KMS_SKIP,
                    }
                ]
            }
        }
    return _resource("AWS::Logs::LogGroup", props, **extra)


def _destinations(spec: AccessSpec) -> list[str]:
    cidrs = {r.cidr for r in spec.rules} | {r.cidr for r in spec.routes}
    return sorted(cidrs, key=lambda c: (ipaddress.ip_network(c).prefixlen, c))


def _security_group(spec: AccessSpec) -> Json:
    egress = [
        {"IpProtocol": "-1", "CidrIp": cidr, "Description": f"VPN clients to {cidr}"}
        for cidr in _destinations(spec)
    ]
    props = {
        "GroupDescription": f"Client VPN endpoint {spec.name}: egress to authorised networks only",
        "VpcId": spec.vpc_id,
        "SecurityGroupEgress": egress,
        "Tags": _tags(spec),
    }
    return _resource("AWS::EC2::SecurityGroup", props)


def _endpoint(spec: AccessSpec) -> Json:
    logging: Json = {"Enabled": spec.logging.enabled}
    if spec.logging.enabled:
        logging["CloudwatchLogGroup"] = {"Ref": LOG_GROUP}
    props: Json = {
        "Description": f"runnerfleet operator access {spec.name}",
        "AuthenticationOptions": [
            {
                "Type": "federated-authentication",
                "FederatedAuthentication": {
                    "SAMLProviderArn": {"Ref": VPN_PROVIDER},
                    "SelfServiceSAMLProviderArn": {"Ref": PORTAL_PROVIDER},
                },
            }
        ],
        "ClientCidrBlock": spec.client_cidr,
        "ConnectionLogOptions": logging,
        "ServerCertificateArn": {"Ref": CERT_PARAM},
        "SplitTunnel": spec.split_tunnel,
        "TransportProtocol": spec.transport,
        "VpnPort": spec.port,
        "SessionTimeoutHours": spec.session_timeout_hours,
        "SelfServicePortal": "enabled" if spec.self_service_portal else "disabled",
        "VpcId": spec.vpc_id,
        "SecurityGroupIds": [{"Fn::GetAtt": [SECURITY_GROUP, "GroupId"]}],
        "TagSpecifications": [{"ResourceType": "client-vpn-endpoint", "Tags": _tags(spec)}],
    }
    if spec.dns_servers:
        props["DnsServers"] = list(spec.dns_servers)
    if spec.banner:
        props["ClientLoginBannerOptions"] = {"Enabled": True, "BannerText": spec.banner}
    return _resource("AWS::EC2::ClientVpnEndpoint", props)


def _parameters() -> Json:
    return {
        CERT_PARAM: {
            "Type": "String",
            "Description": "ACM ARN of the server certificate (runnerfleet access cert --import)",
            "AllowedPattern": r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$",
            "ConstraintDescription": "an ACM certificate ARN",
        }
    }


def _outputs(spec: AccessSpec) -> Json:
    outputs: Json = {
        "ClientVpnEndpointId": {"Value": {"Ref": ENDPOINT}},
        "SelfServicePortalUrl": {"Value": {"Fn::Sub": PORTAL_URL + "${" + ENDPOINT + "}"}},
        "VpnSamlProviderArn": {"Value": {"Ref": VPN_PROVIDER}},
        "PortalSamlProviderArn": {"Value": {"Ref": PORTAL_PROVIDER}},
        "SecurityGroupId": {"Value": {"Fn::GetAtt": [SECURITY_GROUP, "GroupId"]}},
    }
    if spec.logging.enabled:
        outputs["ConnectionLogGroup"] = {"Value": {"Ref": LOG_GROUP}}
    return outputs
