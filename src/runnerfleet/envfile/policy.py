"""The organisation policy file: rules every environment must follow, stricter for some.

Example (docs/guardrails.md has the full reference)::

    defaults:
      allowed_instance_types: ["t3.*", "m7i.*"]
      max_fleet_size: 50
      required_tags: [CostCenter, AppId]
    production:
      forbid_privileged: true
      forbid_docker_socket: true
    environments:
      sandbox-team: {max_fleet_size: 5}
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, StrictInt, ValidationError

from runnerfleet.envfile.base import Strict
from runnerfleet.envfile.errorfmt import describe_validation_errors
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.envfile.yamlsource import read_yaml
from runnerfleet.errors import SpecError


class PolicyRules(Strict):
    allowed_instance_types: tuple[str, ...] | None = Field(
        None, description="fnmatch patterns, e.g. 't3.*'; unset allows any type."
    )
    max_fleet_size: StrictInt | None = Field(None, ge=0)
    required_tags: tuple[str, ...] = ()
    forbid_privileged: bool = False
    forbid_docker_socket: bool = False
    require_encryption: bool = True
    require_checksum: bool = False
    max_instance_lifetime_s: StrictInt | None = Field(None, ge=86400)


class OrgPolicy(Strict):
    defaults: PolicyRules = PolicyRules()
    production: PolicyRules | None = None
    environments: dict[str, PolicyRules] = Field(default_factory=dict)

    def rules_for(self, spec: FleetSpec) -> PolicyRules:
        """Defaults, then the production overrides, then the environment's own, key by key."""
        merged = self.defaults.model_dump()
        layers = [self.production if spec.production else None, self.environments.get(spec.name)]
        for layer in layers:
            if layer is not None:
                merged.update(layer.model_dump(include=layer.model_fields_set))
        return PolicyRules.model_validate(merged)


def load_policy(path: str | Path | None) -> OrgPolicy:
    """No file means only the built-in rules apply."""
    if path is None:
        return OrgPolicy()
    doc = read_yaml(Path(path))
    try:
        return OrgPolicy.model_validate(doc.data)
    except ValidationError as exc:
        problems = describe_validation_errors(exc, [doc], doc.data, root=OrgPolicy)
        raise SpecError(f"{path}: the policy file is invalid", problems=problems) from exc
