"""Service limits of the ``access`` configuration, and loading it from YAML.

cfn-lint only knows property types, so a /24 client block, a 9-hour session or two subnets in
one AZ would pass it and fail at deploy time, minutes later. These checks find all of them at once.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runnerfleet.access.spec import (
    BANNER_MAX_CHARS,
    DOMAIN_RE,
    GROUP_ID_RE,
    IDENTITY_STORE_ID_RE,
    LOG_RETENTION_DAYS,
    PROVIDER_NAME_RE,
    SESSION_TIMEOUT_HOURS,
    AccessSpec,
    AuthRule,
    Finding,
)
from runnerfleet.envfile.yamlsource import KeyPath, read_yaml
from runnerfleet.errors import SpecError

ACM_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$")
KMS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$")


def check_limits(spec: AccessSpec) -> list[Finding]:
    """Every service limit cfn-lint does not know about, as findings (empty when all is well)."""
    found: list[Finding] = []
    found += _check_network(spec)
    found += _check_subnets(spec)
    found += _check_rules(spec)
    found += _check_options(spec)
    found += _check_names(spec)
    found += _check_arns(spec)
    return found


def _check_arns(spec: AccessSpec) -> list[Finding]:
    found: list[Finding] = []
    cert, key = spec.server_certificate_arn, spec.logging.kms_key_arn
    if cert is not None and not ACM_ARN_RE.match(cert):
        found.append(
            Finding(
                "server_certificate_arn",
                f"{cert!r} is not an ACM certificate ARN",
                "copy the ARN printed by `runnerfleet access cert --import`",
            )
        )
    if key is not None and not KMS_ARN_RE.match(key):
        found.append(
            Finding(
                "logging.kms_key_arn",
                f"{key!r} is not a KMS key ARN",
                "use arn:aws:kms:REGION:ACCOUNT:key/ID (its policy must allow "
                "logs.REGION.amazonaws.com)",
            )
        )
    return found


def _net(value: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return None


def _bad_cidr(path: str, value: str) -> Finding:
    return Finding(
        path,
        f"{value!r} is not an IPv4 network in CIDR form",
        "write it like 10.0.0.0/16, with the host bits zero",
    )


def _check_network(spec: AccessSpec) -> list[Finding]:
    found: list[Finding] = []
    vpc, client = _net(spec.vpc_cidr), _net(spec.client_cidr)
    if vpc is None:
        found.append(_bad_cidr("vpc_cidr", spec.vpc_cidr))
    if client is None:
        found.append(_bad_cidr("client_cidr", spec.client_cidr))
        return found
    if not 12 <= client.prefixlen <= 22:
        found.append(
            Finding(
                "client_cidr",
                f"{client} is a /{client.prefixlen}; Client VPN needs /12 to /22",
                "pick a block between /12 and /22 (e.g. 10.100.0.0/22); it cannot change later",
            )
        )
    if vpc is not None and client.overlaps(vpc):
        found.append(
            Finding(
                "client_cidr",
                f"{client} overlaps the VPC CIDR {vpc}",
                "choose a client block outside the VPC (and outside your office/home networks)",
            )
        )
    for i, route in enumerate(spec.routes):
        dest = _net(route.cidr)
        if dest is None:
            found.append(_bad_cidr(f"routes[{i}].cidr", route.cidr))
        elif dest.subnet_of(client):  # supernets such as 0.0.0.0/0 are fine
            found.append(
                Finding(
                    f"routes[{i}].cidr",
                    f"{dest} lies inside client_cidr {client}",
                    "routes must point at networks outside the client block",
                )
            )
    return found


def _check_subnets(spec: AccessSpec) -> list[Finding]:
    found: list[Finding] = []
    seen_az: dict[str, str] = {}
    seen_id: set[str] = set()
    for i, subnet in enumerate(spec.subnets):
        if subnet.id in seen_id:
            found.append(
                Finding(f"subnets[{i}].id", f"{subnet.id} is listed twice", "list each subnet once")
            )
        seen_id.add(subnet.id)
        if subnet.az in seen_az:
            found.append(
                Finding(
                    f"subnets[{i}].az",
                    f"{subnet.id} and {seen_az[subnet.az]} are both in {subnet.az}",
                    "Client VPN associates one subnet per Availability Zone: keep one of them",
                )
            )
        seen_az.setdefault(subnet.az, subnet.id)
    return found


def _check_rules(spec: AccessSpec) -> list[Finding]:
    found: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for i, rule in enumerate(spec.rules):
        path = f"rules[{i}]"
        if _net(rule.cidr) is None:
            found.append(_bad_cidr(f"{path}.cidr", rule.cidr))
        found += _check_rule_target(path, rule)
        key = (rule.cidr, rule.group or rule.group_id or "*")
        if key in seen:  # the service refuses a second identical rule
            found.append(
                Finding(path, f"repeats the rule for {key[1]} on {key[0]}", "delete the duplicate")
            )
        seen.add(key)
    routes = [r.cidr for r in spec.routes]
    for i, cidr in enumerate(routes):
        if cidr in routes[:i]:
            found.append(
                Finding(f"routes[{i}]", f"repeats the route to {cidr}", "delete the duplicate")
            )
    return found


def _check_rule_target(path: str, rule: AuthRule) -> list[Finding]:
    named = [k for k, v in (("group", rule.group), ("group_id", rule.group_id)) if v]
    if rule.authorize_all and named:
        return [
            Finding(
                path,
                f"authorize_all is combined with {named[0]} (AccessGroupId)",
                "keep either authorize_all: true or one group, not both",
            )
        ]
    if not rule.authorize_all and not named:
        return [
            Finding(
                path,
                "names no group and does not set authorize_all",
                "add group: <display name>, group_id: <id>, or authorize_all: true",
            )
        ]
    if len(named) == 2:
        return [
            Finding(
                path,
                "sets both group and group_id",
                "keep one: group (resolved at deploy) or group_id",
            )
        ]
    if rule.group_id and not GROUP_ID_RE.match(rule.group_id):
        return [
            Finding(
                f"{path}.group_id",
                f"{rule.group_id!r} is not an Identity Store group ID",
                "use the GroupId (a UUID, optionally with a 10-hex prefix), or group: "
                "<display name> to have it resolved",
            )
        ]
    return []


def _check_options(spec: AccessSpec) -> list[Finding]:
    found: list[Finding] = []
    if spec.session_timeout_hours not in SESSION_TIMEOUT_HOURS:
        found.append(
            Finding(
                "session_timeout_hours",
                f"{spec.session_timeout_hours} hours",
                "use one of 8, 10, 12 or 24",
            )
        )
    found.extend(_check_dns_servers(spec.dns_servers))
    if spec.banner is not None and len(spec.banner) > BANNER_MAX_CHARS:
        found.append(
            Finding(
                "banner",
                f"{len(spec.banner)} characters; the limit is 1400",
                "shorten the banner text",
            )
        )
    if spec.logging.retention_days not in LOG_RETENTION_DAYS:
        found.append(
            Finding(
                "logging.retention_days",
                f"{spec.logging.retention_days} is not a CloudWatch period",
                "use one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
            )
        )
    if not spec.split_tunnel and not any(_is_default(r.cidr) for r in spec.routes):
        found.append(
            Finding(
                "split_tunnel",
                "full tunnel without a 0.0.0.0/0 route",
                "add a route 0.0.0.0/0 (and a rule for it) or set split_tunnel: true",
            )
        )
    return found


def _check_dns_servers(servers: Sequence[str]) -> list[Finding]:
    found: list[Finding] = []
    if len(servers) > 2:
        found.append(
            Finding(
                "dns_servers",
                f"{len(servers)} servers; at most 2 allowed",
                "keep two DNS servers (e.g. the VPC resolver, base+2)",
            )
        )
    for i, server in enumerate(servers):
        try:
            ipaddress.IPv4Address(server)
        except ValueError:
            found.append(
                Finding(
                    f"dns_servers[{i}]",
                    f"{server!r} is not an IPv4 address",
                    "write an address like 10.0.0.2",
                )
            )
    return found


def _is_default(cidr: str) -> bool:
    return cidr.strip() == "0.0.0.0/0"


def _check_names(spec: AccessSpec) -> list[Finding]:
    found: list[Finding] = []
    if not DOMAIN_RE.match(spec.domain):
        found.append(
            Finding(
                "domain",
                f"{spec.domain!r} is not a DNS name",
                "use a lower-case domain such as vpn.example.internal (it becomes the "
                "server certificate's CN and SAN)",
            )
        )
    for key in ("vpn_provider_name", "portal_provider_name"):
        if not PROVIDER_NAME_RE.match(getattr(spec.saml, key)):
            found.append(
                Finding(
                    f"saml.{key}",
                    "IAM SAML provider names allow [A-Za-z0-9._-]",
                    "use 1-128 letters, digits, dot, underscore or dash",
                )
            )
    if spec.saml.vpn_provider_name == spec.saml.portal_provider_name:
        found.append(
            Finding(
                "saml.portal_provider_name",
                "both providers have the same name",
                "give the portal provider its own name",
            )
        )
    store = spec.identity_store_id
    if store is not None and not IDENTITY_STORE_ID_RE.match(store):
        found.append(
            Finding(
                "identity_store_id",
                f"{store!r} is not an identity store ID",
                "copy it from IAM Identity Center > Settings (d-xxxxxxxxxx)",
            )
        )
    return found


def load_access(path: Path) -> AccessSpec:
    """Read and validate an access file (or the ``access:`` key of an environment file)."""
    doc = read_yaml(path)  # the guarded loader: aliases, depth, duplicate keys, encoding
    return parse_access(doc.data, source=path, lines=doc.lines)


def parse_access(
    raw: Any, *, source: Path | None = None, lines: Mapping[KeyPath, int] | None = None
) -> AccessSpec:
    """Validate the access configuration; ``lines`` (key path -> line) locates each problem."""
    prefix: KeyPath = ()
    if isinstance(raw, dict) and "access" in raw:
        raw, prefix = raw["access"], ("access",)
    locator = _Locator(source, lines or {}, prefix)
    if not isinstance(raw, dict):
        raise SpecError(
            f"{locator.source}: cannot load it",
            problems=[Finding("access", "must be a mapping", _LAYOUT).render(locator.where("."))],
        )
    try:
        spec = AccessSpec.model_validate({**raw, "source": source})
    except ValidationError as exc:
        _refuse(locator, _pydantic_findings(exc))
    _refuse(locator, check_limits(spec))
    return spec


_LAYOUT = "see examples/access/access.yaml for the layout"


@dataclass(frozen=True)
class _Locator:
    """``file:line`` of a finding's key path, from the line index of the file."""

    source: Path | None
    lines: Mapping[KeyPath, int]
    prefix: KeyPath

    def where(self, path: str) -> str:
        parts = tuple(int(p[1:-1]) if p.startswith("[") else p for p in _PARTS.findall(path))
        key = (*self.prefix, *parts)
        for depth in range(len(key), -1, -1):
            if key[:depth] in self.lines:
                return f"{self.source}:{self.lines[key[:depth]]}"
        return str(self.source or "<access>")


_PARTS = re.compile(r"\[\d+\]|[^.\[\]]+")


def _refuse(locator: _Locator, findings: Sequence[Finding]) -> None:
    if findings:
        problems = [f.render(locator.where(f.path)) for f in findings]
        raise SpecError(
            f"{locator.source or '<access>'}: {len(problems)} problem(s) in the access "
            "configuration",
            problems=problems,
        )


def _pydantic_findings(exc: ValidationError) -> list[Finding]:
    found = []
    for error in exc.errors():
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error["loc"])
        path = path.replace(".[", "[")
        fix = {
            "extra_forbidden": "remove the key or check its spelling",
            "missing": "add this key",
            "literal_error": "use one of the values listed",
            "string_pattern_mismatch": "use the expected format",
        }.get(error["type"], "use the type shown")
        found.append(Finding(path or "<root>", error["msg"], fix))
    return found
