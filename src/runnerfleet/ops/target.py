"""Where an operator command acts: real AWS and GitLab, or the sandbox.

Built once per environment by the composition root (``runnerfleet.cli.compose``), the only
place that knows about the sandbox; use cases receive a ``Target`` (or its pieces) and never
ask "is this the sandbox?". What a target cannot do is said by its ``Capabilities``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.aws.autoscaling import AddressMapper, private_ip
from runnerfleet.aws.clients import ClientFactory


@dataclass(frozen=True)
class GitLabAccess:
    """Where GitLab is and how to get its API token (read when needed, never printed)."""

    url: str
    token: Callable[[Any], str] = field(repr=False)  # SSM client -> API token
    unavailable: str = ""  # why GitLab cannot be reached from this target; "" when it can

    @property
    def reachable(self) -> bool:
        return not self.unavailable


def no_gitlab(reason: str) -> GitLabAccess:
    def refuse(_ssm: Any) -> str:
        raise LookupError(reason)

    return GitLabAccess(url="", token=refuse, unavailable=reason)


@dataclass(frozen=True)
class Capabilities:
    """What the target's AWS does; the sandbox's emulator lacks some of it."""

    termination_protection: bool = True
    drift_detection: bool = True
    instance_refresh: bool = True
    # CloudFormation resolves SSM-typed parameters again at every deploy (a new AMI is a change)
    resolves_ssm_parameters: bool = True
    outputs_after_change_set: bool = True
    image_builder: bool = True  # EC2 Image Builder builds images (the emulator has none)
    poll_s: float = 15.0  # how often a wait polls


@dataclass(frozen=True)
class Target:
    """One environment's AWS clients, GitLab, metrics addresses and how output names it."""

    clients: ClientFactory
    gitlab: GitLabAccess
    metrics_address: AddressMapper = private_ip  # where runners are scraped
    label: str = ""  # e.g. "eu-west-1" or "us-east-1 (EMULATED sandbox at http://127.0.0.1:4566)"
    capabilities: Capabilities = field(default_factory=Capabilities)

    @property
    def region(self) -> str:
        return self.clients.target.region

    def location(self) -> str:
        """Short enough for a table column: account/region, or region (emulated)."""
        aws = self.clients.target
        if aws.endpoint_url is not None:
            return f"{aws.region} (emulated)"
        return f"{aws.expected_account or '?'}/{aws.region}"
