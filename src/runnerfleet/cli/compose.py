"""The composition root: what the operator typed becomes a ``Target`` for the use cases.

``--sandbox`` is parsed here and nowhere else: with it, the environment is rewritten onto the
sandbox (``sandbox_spec``, and the command says what changed), the AWS clients point at the
emulator, GitLab is the sandbox's stand-in with its own token, and runners are scraped at the
loopback addresses the twin gives its instances. Without it, everything is the environment file's.
Only ``runnerfleet.cli`` and this module import ``runnerfleet.sandbox``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape

from runnerfleet.aws.autoscaling import AddressMapper
from runnerfleet.aws.clients import AwsTarget, ClientFactory, env_region
from runnerfleet.cli.console import emulated_banner, err
from runnerfleet.cli.options import SandboxFlag as SandboxFlag  # noqa: PLC0414 - re-exported
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.gitlab.client import resolve_access_token
from runnerfleet.ops.target import Capabilities, GitLabAccess, Target, no_gitlab
from runnerfleet.sandbox.emulator import rewrite_notes, sandbox_spec
from runnerfleet.sandbox.standin.seed import SANDBOX_ACCESS_TOKEN
from runnerfleet.sandbox.state import SandboxState, require_running

# What the sandbox's emulator does not do; waits poll faster (nothing takes minutes there).
EMULATOR = Capabilities(
    termination_protection=False,
    drift_detection=False,
    instance_refresh=False,
    resolves_ssm_parameters=False,
    outputs_after_change_set=False,
    image_builder=False,
    poll_s=1.0,
)

Environment = tuple[FleetSpec, Target]


def environments(
    specs: Sequence[FleetSpec],
    sandbox: bool,
    profile: str | None = None,
    *,
    gitlab_url: str | None = None,
) -> list[Environment]:
    """Each environment with its target (own account, region and role, or the sandbox)."""
    if not sandbox:
        return [(spec, aws_target(spec, profile, gitlab_url)) for spec in specs]
    state = require_running()
    emulated_banner(state.endpoint)
    result = []
    for spec in specs:
        err.print(f"[yellow]{escape(spec.name)}: rewritten for the sandbox (sandbox_spec):[/]")
        for note in rewrite_notes(spec, state):
            err.print(f"  [yellow]{escape(note)}[/]")
        result.append((sandbox_spec(spec, state), sandbox_target(state, gitlab_url)))
    return result


def environment(
    spec: FleetSpec, sandbox: bool, profile: str | None = None, *, gitlab_url: str | None = None
) -> Environment:
    return environments([spec], sandbox, profile, gitlab_url=gitlab_url)[0]


def aws_target(
    spec: FleetSpec,
    profile: str | None,
    gitlab_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """The environment file's account (profile, role) and GitLab (token from env or SSM)."""
    aws = AwsTarget(
        region=spec.aws.region,
        profile=profile or spec.aws.profile,
        role_arn=spec.aws.role_arn,
        expected_account=spec.aws.account_id,
    )
    return Target(ClientFactory(aws), gitlab_access(spec, gitlab_url, environ), label=aws.label())


def gitlab_access(
    spec: FleetSpec, gitlab_url: str | None = None, environ: Mapping[str, str] | None = None
) -> GitLabAccess:
    """The environment file's GitLab; its API token from the variable or SSM it names."""
    env = dict(os.environ if environ is None else environ)
    ref = spec.runner.gitlab_token

    def token(ssm: Any) -> str:
        return resolve_access_token(ref, ssm, env)

    return GitLabAccess(url=gitlab_url or spec.runner.gitlab_url, token=token)


def sandbox_target(state: SandboxState, gitlab_url: str | None = None) -> Target:
    """The emulator, the GitLab stand-in (its own token: a real one never goes there), and
    runners on the loopback addresses the twin gives its instances (never another address)."""
    aws = AwsTarget(region=state.region, endpoint_url=state.endpoint, max_attempts=2)
    url = gitlab_url or state.gitlab_url
    gitlab = (
        GitLabAccess(url=url, token=lambda _ssm: SANDBOX_ACCESS_TOKEN)
        if url
        else no_gitlab(
            "the sandbox runs no GitLab stand-in (restart it: runnerfleet sandbox start)"
        )
    )
    return Target(
        ClientFactory(aws),
        gitlab,
        metrics_address=sandbox_addresses(),
        label=aws.label(),
        capabilities=EMULATOR,
    )


def region_target(region: str | None, profile: str | None, sandbox: bool) -> Target:
    """For commands without an environment file (access): a region and a profile."""
    if sandbox:
        state = require_running()
        emulated_banner(state.endpoint)
        target = sandbox_target(state)
        return Target(
            target.clients, no_gitlab("not used"), label=target.label, capabilities=EMULATOR
        )
    aws = AwsTarget(region=region or env_region(), profile=profile)
    return Target(ClientFactory(aws), no_gitlab("not used"), label=aws.label())


def sandbox_addresses() -> AddressMapper:
    """Runners in the sandbox are scraped on loopback only: the twin gives every instance its
    own 127.x address as its private address; any other address is never dialled."""

    def address_of(_instance_id: str, private_ip: str | None) -> str | None:
        return private_ip if private_ip and _is_loopback(private_ip) else None

    return address_of


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
