"""Specs for the stack tests: the examples, and variants that reach every branch."""

from __future__ import annotations

from typing import Any

from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import FleetSpec
from tests.conftest import EXAMPLES

EXAMPLE_NAMES = ("dev", "prod", "fast", "warm-spot")


def example(name: str) -> FleetSpec:
    return load_environment(EXAMPLES / f"{name}.yaml")


def variant(base: FleetSpec, **changes: Any) -> FleetSpec:
    """``base`` with top-level sections replaced, re-validated like a loaded file."""
    data = base.model_dump(mode="json")
    for key, value in changes.items():
        data[key] = value
    return FleetSpec.model_validate(data)


def full_variant() -> FleetSpec:
    """Webhook, warm pool, KMS keys, GitLab token in SSM, instance role for jobs."""
    dev = example("dev")
    data = dev.model_dump(mode="json")
    data["stack_name"] = "runnerfleet-full"
    data["kms_key_id"] = "alias/runnerfleet"
    data["logs"]["kms_key_arn"] = (
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    data["instances"]["jobs_use_instance_role"] = True
    data["capacity"]["warm_pool"] = {"min_size": 1, "max_prepared": 3}
    data["capacity"]["desired"] = 0
    data["runner"]["gitlab_token"] = {"ssm_parameter": "/shared/gitlab/api-token"}
    data["scaling"]["webhook"] = {
        "secret": {"ssm_parameter": "/runnerfleet/runnerfleet-full/webhook"}
    }
    data["registrations"][0]["token"] = {"ssm_parameter": "/elsewhere/platform-token"}
    return FleetSpec.model_validate(data)


def all_specs() -> dict[str, FleetSpec]:
    specs = {name: example(name) for name in EXAMPLE_NAMES}
    specs["full"] = full_variant()
    return specs
