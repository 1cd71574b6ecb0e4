"""The ``access`` configuration: operator access through AWS Client VPN with SAML single sign-on.

It can live under an ``access:`` key of an environment file or in a YAML file of its own.
Pydantic checks the shape; :func:`check_limits` checks the limits the Client VPN service enforces
and cfn-lint does not (prefix sizes, overlaps, one subnet per AZ, allowed values). Every problem
is a :class:`Finding` carrying the key path and the fix, and all of them are reported at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from runnerfleet.envfile.errorfmt import problem_line

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
SESSION_TIMEOUT_HOURS = (8, 10, 12, 24)
BANNER_MAX_CHARS = 1400
# Identity Store group IDs: an optional 10-hex prefix plus a UUID.
GROUP_ID_RE = re.compile(
    r"^([0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
IDENTITY_STORE_ID_RE = re.compile(
    r"^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
PROVIDER_NAME_RE = re.compile(r"^[\w._-]{1,128}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Subnet(_Frozen):
    """A subnet to associate with the endpoint; ``az`` lets us enforce one subnet per AZ."""

    id: str = Field(pattern=r"^subnet-[0-9a-f]{8,17}$")
    az: str = Field(min_length=4)


class SamlApps(_Frozen):
    """The two Identity Center custom SAML apps, as metadata files and IAM provider names."""

    vpn_metadata: Path
    portal_metadata: Path
    vpn_provider_name: str = "runnerfleet-client-vpn"
    portal_provider_name: str = "runnerfleet-client-vpn-portal"


class AuthRule(_Frozen):
    """Who may reach ``cidr``: one group (by display name or ID) or every authenticated user."""

    cidr: str
    group: str | None = None
    group_id: str | None = None
    authorize_all: bool = False
    description: str = ""


class Route(_Frozen):
    """An extra destination (e.g. a peered VPC); pushed through every associated subnet."""

    cidr: str
    description: str = ""


class Logging(_Frozen):
    enabled: bool = True
    retention_days: int = 90
    kms_key_arn: str | None = None


class AccessSpec(_Frozen):
    """The whole ``access`` section."""

    name: str = Field(default="runnerfleet-access", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,100}$")
    domain: str
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$")
    vpc_cidr: str
    subnets: tuple[Subnet, ...] = Field(min_length=1)
    client_cidr: str
    saml: SamlApps
    identity_store_id: str | None = None
    rules: tuple[AuthRule, ...] = Field(min_length=1)
    routes: tuple[Route, ...] = ()
    split_tunnel: bool = True
    transport: Literal["udp", "tcp"] = "udp"
    port: Literal[443, 1194] = 443
    session_timeout_hours: int = 12
    dns_servers: tuple[str, ...] = ()
    banner: str | None = None
    self_service_portal: bool = True
    logging: Logging = Logging()
    server_certificate_arn: str | None = None
    source: Path | None = Field(default=None, exclude=True)

    def resolve_path(self, path: Path) -> Path:
        """Metadata paths are relative to the file that names them."""
        if path.is_absolute() or self.source is None:
            return path
        return self.source.parent / path


@dataclass(frozen=True)
class Finding:
    """One problem: where (key path), what, and what to do about it."""

    path: str
    message: str
    fix: str

    def render(self, where: Path | str | None = None) -> str:
        """``FILE[:LINE]: key.path: problem; fix: ...``, the format of every input problem."""
        return problem_line(str(where or "<access>"), self.path, self.message, self.fix)
