"""Guardrails: built-in rules plus the organisation policy, reported as findings (data).

Every rule returns findings; none raises. ``validate`` prints them all and ``deploy`` refuses
when any has severity ``error``. Rule ids are stable and documented in docs/guardrails.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import Literal

from runnerfleet.envfile.models import FleetSpec
from runnerfleet.envfile.policy import OrgPolicy, PolicyRules
from runnerfleet.findings import Finding, has_errors

__all__ = ["Finding", "check", "has_errors"]
Severity = Literal["error", "warning"]


Rule = Callable[[FleetSpec, PolicyRules], Iterator[Finding]]


def _finding(rule_id: str, severity: Severity, key_path: str, message: str, fix: str) -> Finding:
    return Finding(rule_id, severity, message, fix, key_path)


def check(spec: FleetSpec, policy: OrgPolicy | None = None) -> list[Finding]:
    rules = (policy or OrgPolicy()).rules_for(spec)
    findings = [finding for rule in RULES for finding in rule(spec, rules)]
    return sorted(findings, key=lambda f: (f.severity != "error", f.code, f.key_path))


def _instance_types(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    allowed = rules.allowed_instance_types
    if allowed is None:
        return
    for index, itype in enumerate(spec.instances.types):
        if not any(fnmatchcase(itype, pattern) for pattern in allowed):
            yield _finding(
                "RF101",
                "error",
                f"instances.types[{index}]",
                f"instance type {itype} is not allowed by the organisation policy",
                f"use one matching {', '.join(allowed)}",
            )


def _fleet_size(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    limit = rules.max_fleet_size
    if limit is not None and spec.capacity.max > limit:
        yield _finding(
            "RF102",
            "error",
            "capacity.max",
            f"max size {spec.capacity.max} exceeds the policy's limit of {limit}",
            f"lower capacity.max to {limit} or ask for a policy exception",
        )


def _required_tags(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    for tag in rules.required_tags:
        if not spec.tags.get(tag):
            yield _finding(
                "RF103",
                "error",
                f"tags.{tag}",
                f"required tag {tag} is missing or empty",
                f"add `{tag}: <value>` under tags",
            )


def _privileged(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    docker = spec.runner.docker
    if docker.privileged:
        severity: Severity = "error" if rules.forbid_privileged else "warning"
        yield _finding(
            "RF104",
            severity,
            "runner.docker.privileged",
            "privileged job containers are root on the host and can read other jobs' data",
            "set privileged: false; build images with kaniko or buildah, not docker-in-docker",
        )
    if docker.mounts_docker_socket:
        severity = "error" if rules.forbid_docker_socket else "warning"
        yield _finding(
            "RF105",
            severity,
            "runner.docker.volumes",
            "mounting /var/run/docker.sock gives every job root on the host",
            "remove the docker.sock volume; use rootless builders",
        )


def _encryption(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    if rules.require_encryption and not spec.instances.volume.encrypted:
        yield _finding(
            "RF106",
            "error",
            "instances.volume.encrypted",
            "the root volume is not encrypted",
            "set encrypted: true (the default)",
        )


def _lifetime(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    lifetime, limit = spec.instances.max_lifetime_s, rules.max_instance_lifetime_s
    if limit is not None and (lifetime is None or lifetime > limit):
        yield _finding(
            "RF107",
            "error",
            "instances.max_lifetime_s",
            f"instances must be recycled within {limit} s by policy",
            f"set max_lifetime_s to at most {limit}",
        )
    elif lifetime is None:
        yield _finding(
            "RF201",
            "warning",
            "instances.max_lifetime_s",
            "instances are never recycled, so OS patches never reach long-lived hosts",
            "set max_lifetime_s, e.g. 604800 (7 days)",
        )


def _checksum(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    digest = spec.runner.sha256
    if digest is None or len(set(digest)) == 1:  # missing, or an obvious placeholder
        yield _finding(
            "RF108",
            "error" if rules.require_checksum else "warning",
            "runner.sha256",
            "the gitlab-runner binary is not checked against a real SHA-256",
            "add the sha256 of gitlab-runner-linux-amd64 from the version's release.sha256",
        )


def _transport(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    url = spec.runner.gitlab_url
    if url.startswith("http://") and not url.startswith(("http://localhost", "http://127.")):
        yield _finding(
            "RF109",
            "error",
            "runner.gitlab_url",
            "runner tokens would cross the network in clear",
            "use https://",
        )


def _instance_role(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    if spec.instances.jobs_use_instance_role:
        yield _finding(
            "RF202",
            "warning",
            "instances.jobs_use_instance_role",
            "job containers can take the instance role's credentials (IMDS hop limit 2)",
            "give jobs their own credentials (OIDC id_tokens) and set this to false",
        )


def _availability(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    if len(spec.network.subnet_ids) == 1:
        yield _finding(
            "RF203",
            "warning",
            "network.subnet_ids",
            "one subnet means one availability zone: an AZ outage stops all CI",
            "list a private subnet in a second AZ",
        )


def _drain(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    for index, reg in enumerate(spec.registrations):
        if reg.maximum_timeout and reg.maximum_timeout > spec.drain.max_drain_s:
            yield _finding(
                "RF204",
                "warning",
                f"registrations[{index}].maximum_timeout",
                f"jobs may run {reg.maximum_timeout} s but a drain waits only "
                f"{spec.drain.max_drain_s} s, so scale-in could cut them off",
                "raise drain.max_drain_s or lower maximum_timeout",
            )


def _spot(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    spot = spec.instances.spot
    if spot and spec.production and spot.on_demand_base_capacity == 0:
        yield _finding(
            "RF205",
            "warning",
            "instances.spot.on_demand_base_capacity",
            "a production fleet entirely on spot can lose every runner at once",
            "keep at least one on-demand instance (on_demand_base_capacity: 1)",
        )


def _protected(spec: FleetSpec, rules: PolicyRules) -> Iterator[Finding]:
    for index, reg in enumerate(spec.registrations):
        if spec.production and reg.access_level != "ref_protected":
            yield _finding(
                "RF206",
                "warning",
                f"registrations[{index}].access_level",
                "production runners that take jobs from unprotected branches run untrusted code",
                "set access_level: ref_protected",
            )


RULES: tuple[Rule, ...] = (
    _instance_types,
    _fleet_size,
    _required_tags,
    _privileged,
    _encryption,
    _lifetime,
    _checksum,
    _transport,
    _instance_role,
    _availability,
    _drain,
    _spot,
    _protected,
)
