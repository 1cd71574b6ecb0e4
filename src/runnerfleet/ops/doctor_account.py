"""Doctor checks about the account: credentials, service-linked role, bucket, quotas."""

from __future__ import annotations

import math
from collections.abc import Iterator

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import error_code
from runnerfleet.ops.doctor import Check, DoctorContext, Finding, fail, ok, warn

SLR = "AWSServiceRoleForAutoScaling"
ON_DEMAND_VCPUS = ("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")
SPOT_VCPUS = ("L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests")


def credentials(ctx: DoctorContext) -> Iterator[Finding]:
    who = ctx.clients.client("sts").get_caller_identity()
    account, arn = str(who["Account"]), str(who.get("Arn", ""))
    want = ctx.spec.aws.account_id
    if account != want:
        yield fail(
            "credentials",
            f"credentials are for account {account}, the environment says {want}",
            "use the profile of that account (--profile), or fix aws.account_id",
        )
        return
    yield ok("credentials", f"account {account} as {arn}")


def service_linked_role(ctx: DoctorContext) -> Iterator[Finding]:
    try:
        ctx.clients.client("iam").get_role(RoleName=SLR)
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        yield warn(
            "service-linked-role",
            f"{SLR} does not exist yet",
            "AWS creates it with the first Auto Scaling group if you may "
            "iam:CreateServiceLinkedRole; or run `aws iam create-service-linked-role "
            "--aws-service-name autoscaling.amazonaws.com`",
        )
        return
    yield ok("service-linked-role", f"{SLR} exists")


def artefact_bucket(ctx: DoctorContext) -> Iterator[Finding]:
    bucket = ctx.spec.artifacts.bucket
    try:
        ctx.clients.client("s3").head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            yield fail(
                "artefact-bucket",
                f"bucket {bucket} does not exist",
                f"create it (aws s3 mb s3://{bucket}) or fix artifacts.bucket",
            )
        elif code in ("403", "AccessDenied"):
            yield fail(
                "artefact-bucket",
                f"bucket {bucket} exists but you may not use it",
                "grant s3:GetObject/PutObject on it, or pick a bucket of this account",
            )
        else:
            raise
        return
    yield ok("artefact-bucket", f"bucket {bucket} is reachable")


def quotas(ctx: DoctorContext) -> Iterator[Finding]:
    types = ctx.spec.instances.types
    info = ctx.clients.client("ec2").describe_instance_types(InstanceTypes=list(types))
    vcpus = max(int(t["VCpuInfo"]["DefaultVCpus"]) for t in info["InstanceTypes"])
    need = vcpus * ctx.spec.capacity.max
    spot = ctx.spec.instances.spot is not None
    code, name = SPOT_VCPUS if spot else ON_DEMAND_VCPUS
    try:
        quota = ctx.clients.client("service-quotas").get_service_quota(
            ServiceCode="ec2", QuotaCode=code
        )["Quota"]["Value"]
    except ClientError as exc:
        yield warn(
            "quotas",
            f"could not read the quota {name} ({error_code(exc)})",
            "allow servicequotas:GetServiceQuota, or check the quota in the console",
        )
        return
    if need > quota:
        yield fail(
            "quotas",
            f"capacity.max {ctx.spec.capacity.max} x {vcpus} vCPUs = {need} "
            f"exceeds the quota {name} of {math.floor(quota)}",
            "request a quota increase (Service Quotas console), or lower capacity.max",
        )
        return
    yield ok("quotas", f"{need} vCPUs at capacity.max fit the quota of {math.floor(quota)}")


CHECKS: list[tuple[str, Check]] = [
    ("credentials", credentials),
    ("service-linked-role", service_linked_role),
    ("artefact-bucket", artefact_bucket),
    ("quotas", quotas),
]
