"""Doctor checks about the network and instances: VPC, subnets with NAT egress, AMI, types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runnerfleet.ops.doctor import Check, DoctorContext, Finding, fail, ok, warn


def vpc_and_subnets(ctx: DoctorContext) -> Iterator[Finding]:
    ec2, net = ctx.clients.client("ec2"), ctx.spec.network
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [net.vpc_id]}])["Vpcs"]
    if not vpcs:
        yield fail(
            "vpc",
            f"VPC {net.vpc_id} not found in {ctx.spec.aws.region}",
            "fix network.vpc_id, or the region/account",
        )
        return
    yield ok("vpc", f"VPC {net.vpc_id} exists")
    subnets = ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": list(net.subnet_ids)}])[
        "Subnets"
    ]
    found = {s["SubnetId"]: s for s in subnets}
    for subnet_id in net.subnet_ids:
        subnet = found.get(subnet_id)
        if subnet is None:
            yield fail(
                f"subnet {subnet_id}",
                "subnet not found",
                "fix network.subnet_ids (private subnets of the VPC)",
            )
        elif subnet["VpcId"] != net.vpc_id:
            yield fail(
                f"subnet {subnet_id}",
                f"subnet is in {subnet['VpcId']}, not {net.vpc_id}",
                "list subnets of the environment's VPC only",
            )
        else:
            yield _egress(ec2, net.vpc_id, subnet)


def _egress(ec2: Any, vpc_id: str, subnet: dict[str, Any]) -> Finding:
    """Runners need outbound internet (GitLab, registries): a NAT route, not an IGW one."""
    subnet_id, zone = subnet["SubnetId"], subnet.get("AvailabilityZone", "?")
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["RouteTables"]
    if not tables:  # implicitly associated with the VPC's main table
        tables = ec2.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"]
    routes = [
        r
        for t in tables
        for r in t.get("Routes", [])
        if r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("State") != "blackhole"
    ]
    check_id = f"subnet {subnet_id}"
    if any(
        r.get("NatGatewayId") or r.get("InstanceId") or r.get("TransitGatewayId") for r in routes
    ):
        return ok(check_id, f"private subnet in {zone} with NAT egress")
    if any(str(r.get("GatewayId", "")).startswith("igw-") for r in routes):
        return warn(
            check_id,
            f"public subnet in {zone} (default route to an internet gateway)",
            "use private subnets with a NAT gateway; instances have no public IP",
        )
    return fail(
        check_id,
        f"no default route in {zone}: runners cannot reach GitLab",
        "add 0.0.0.0/0 via a NAT gateway to the subnet's route table",
    )


def ami(ctx: DoctorContext) -> Iterator[Finding]:
    image = ctx.spec.instances.image
    image_id = image.ami_id
    if image.ssm_parameter:
        image_id = ctx.clients.client("ssm").get_parameter(Name=image.ssm_parameter)["Parameter"][
            "Value"
        ]
    images = ctx.clients.client("ec2").describe_images(ImageIds=[str(image_id)])["Images"]
    if not images or images[0].get("State", "available") != "available":
        yield fail(
            "ami",
            f"AMI {image_id} is not available in {ctx.spec.aws.region}",
            "pick an AMI of this region (or the default AL2023 SSM parameter)",
        )
        return
    yield ok("ami", f"AMI {image_id} ({images[0].get('Name', 'unnamed')}) is available")


def instance_types(ctx: DoctorContext) -> Iterator[Finding]:
    ec2 = ctx.clients.client("ec2")
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "subnet-id", "Values": list(ctx.spec.network.subnet_ids)}]
    )["Subnets"]
    zones = sorted({s["AvailabilityZone"] for s in subnets})
    offers = ec2.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[
            {"Name": "instance-type", "Values": list(ctx.spec.instances.types)},
            {"Name": "location", "Values": zones},
        ],
    )["InstanceTypeOfferings"]
    offered = {(o["InstanceType"], o["Location"]) for o in offers}
    for itype in ctx.spec.instances.types:
        missing = [z for z in zones if (itype, z) not in offered]
        if len(missing) == len(zones):
            yield fail(
                f"type {itype}",
                f"{itype} is offered in none of {', '.join(zones)}",
                "choose another instance type, or subnets in other AZs",
            )
        elif missing:
            yield warn(
                f"type {itype}",
                f"{itype} is not offered in {', '.join(missing)}",
                "add another type (instances.types) or drop those subnets",
            )
        else:
            yield ok(f"type {itype}", f"{itype} is offered in {', '.join(zones)}")


CHECKS: list[tuple[str, Check]] = [
    ("vpc", vpc_and_subnets),
    ("ami", ami),
    ("instance-types", instance_types),
]
