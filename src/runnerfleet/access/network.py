"""The access file's network against what AWS knows of it: every mismatch at once."""

from __future__ import annotations

from collections.abc import Mapping

from runnerfleet.access.spec import AccessSpec
from runnerfleet.errors import SpecError


def check_network(
    spec: AccessSpec, vpc_cidrs: frozenset[str] | None, subnets: Mapping[str, tuple[str, str]]
) -> None:
    """The VPC, its CIDR and every subnet's VPC and AZ as AWS sees them (``vpc_cidrs`` None:
    no such VPC; ``subnets``: id -> (VPC, zone) of those that exist); all problems at once."""
    problems = _vpc_problems(spec, vpc_cidrs)
    for i, subnet in enumerate(spec.subnets):
        real = subnets.get(subnet.id)
        if real is None:
            problems.append(f"subnets[{i}].id: {subnet.id} does not exist in this region")
        elif real[0] != spec.vpc_id:
            problems.append(f"subnets[{i}].id: {subnet.id} is in {real[0]}, not {spec.vpc_id}")
        elif real[1] != subnet.az:
            problems.append(f"subnets[{i}].az: says {subnet.az}, the subnet is in {real[1]}")
    if problems:
        raise SpecError(
            f"{len(problems)} network problem(s) in the access configuration",
            problems=problems,
            hint="fix vpc_id, vpc_cidr and subnets to match the VPC (and --region)",
        )


def _vpc_problems(spec: AccessSpec, vpc_cidrs: frozenset[str] | None) -> list[str]:
    if vpc_cidrs is None:
        return [f"vpc_id: {spec.vpc_id} does not exist in this region"]
    if spec.vpc_cidr not in vpc_cidrs:
        known = ", ".join(sorted(vpc_cidrs))
        return [f"vpc_cidr: {spec.vpc_cidr} is not a CIDR of {spec.vpc_id} ({known})"]
    return []
