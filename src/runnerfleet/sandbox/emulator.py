"""The sandbox: the twin (moto behind the twin's front) on 127.0.0.1, started in the background.

``start`` launches ``python -m runnerfleet.sandbox.twin`` as a detached process, waits until it
is ready, seeds a VPC with private subnets and an artefact bucket, starts the GitLab stand-in,
and records all of it in the state file. ``stop`` ends exactly those PIDs.

moto assigns its own resource ids, so an environment file's VPC can never match: the
``--sandbox`` commands rewrite the spec with ``sandbox_spec`` (and say so).
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from runnerfleet.aws.clients import (
    SANDBOX_ACCESS_KEY,
    SANDBOX_SECRET_KEY,
    AwsTarget,
    ClientFactory,
)
from runnerfleet.envfile.models import FleetSpec, RunnerSection, SecretRef
from runnerfleet.errors import SandboxError
from runnerfleet.sandbox import state as state_file
from runnerfleet.sandbox.standin.seed import SANDBOX_ACCESS_TOKEN
from runnerfleet.sandbox.state import (
    DEFAULT_REGION,
    MAX_SCHEDULE_FACTOR,
    SANDBOX_ACCOUNT,
    SandboxState,
)
from runnerfleet.sandbox.twin import process
from runnerfleet.sandbox.twin.shims import runner_release

HOST = process.HOST
BUCKET = "runnerfleet-sandbox-artifacts"
GITLAB_MODULE = "runnerfleet.sandbox.standin"
VPC_CIDR = "10.42.0.0/16"
SUBNETS = (("a", "10.42.1.0/24"), ("b", "10.42.2.0/24"))
# the stand-in's API token as a SecureString: what the deployed functions read GitLab with
TOKEN_PARAMETER = "/runnerfleet/sandbox/gitlab-api-token"  # noqa: S105 - a parameter name
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def start(
    region: str = DEFAULT_REGION,
    port: int | None = None,
    wait_s: float = 30.0,
    *,
    hold_actions: bool = False,
    schedule_factor: float = 1.0,
) -> SandboxState:
    """Start (or return the already running) sandbox, seeded and recorded.

    ``hold_actions``: lifecycle actions wait for a client even while no instance software
    runs (tests that complete them themselves). ``schedule_factor``: EventBridge schedules
    run this many times faster than real time (``check_schedule_factor``).
    """
    check_schedule_factor(schedule_factor)
    current = state_file.load()
    if current is not None and state_file.answers(current.endpoint):
        return current
    extra: tuple[str, ...] = ("--schedule-factor", f"{schedule_factor:g}")
    extra += ("--hold-lifecycle-actions",) if hold_actions else ()
    twin = process.spawn_twin(state_file.home(), region, port or 0, wait_s, extra)
    gitlab: tuple[str, int] | None = None
    try:
        seeded = seed(twin.endpoint, region)
        gitlab = start_gitlab(wait_s)
    except BaseException:
        process.terminate(twin.pid)
        raise
    new = SandboxState(
        endpoint=twin.endpoint,
        pid=twin.pid,
        port=twin.port,
        region=region,
        vpc_id=seeded.vpc_id,
        subnet_ids=seeded.subnet_ids,
        bucket=seeded.bucket,
        log_file=str(twin.log_file),
        gitlab_url=gitlab[0],
        gitlab_pid=gitlab[1],
        schedule_factor=schedule_factor,
    )
    state_file.save(new)
    return new


def check_schedule_factor(factor: float) -> None:
    """A clock factor the twin's schedules can run at: above 0, at most ``MAX_SCHEDULE_FACTOR``
    (``rate(1 minute)`` every second; faster, evaluations would overlap)."""
    if not 0 < factor <= MAX_SCHEDULE_FACTOR:
        raise SandboxError(
            f"schedule factor {factor:g} is out of range: it must be above 0 and at most "
            f"{MAX_SCHEDULE_FACTOR:g}",
            hint="pass e.g. --schedule-factor 6 (rate(1 minute) every 10 s); 1 is real time",
        )


def start_gitlab(wait_s: float) -> tuple[str, int]:
    """The GitLab stand-in (python -m runnerfleet.sandbox.standin) on loopback: (url, pid)."""
    ready = state_file.home() / "gitlab.url"
    ready.unlink(missing_ok=True)
    with (state_file.home() / "gitlab.log").open("ab") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                GITLAB_MODULE,
                "--host",
                HOST,
                "--port",
                "0",
                "--ready-file",
                str(ready),
            ],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and proc.poll() is None:
        url = ready.read_text(encoding="utf-8").strip() if ready.exists() else ""
        if url:
            return url, proc.pid
        time.sleep(0.1)
    process.terminate(proc.pid)
    raise SandboxError(
        "the GitLab stand-in did not start",
        hint=f"read {state_file.home() / 'gitlab.log'}, then retry `runnerfleet sandbox start`",
    )


def _loopback(endpoint: str) -> str:
    if not endpoint.startswith(f"http://{HOST}:"):
        raise SandboxError(f"the sandbox endpoint {endpoint} is not on {HOST}")
    return endpoint


def reset(endpoint: str) -> None:
    """Forget every emulated resource (tests use it between cases)."""
    request = urllib.request.Request(_loopback(endpoint) + "/moto-api/reset", data=b"")  # noqa: S310
    with _NO_PROXY.open(request, timeout=10):
        pass


@dataclass(frozen=True)
class Seeded:
    vpc_id: str
    subnet_ids: tuple[str, ...]
    bucket: str


def seed(endpoint: str, region: str) -> Seeded:
    """A VPC with two private subnets, an artefact bucket and the stand-in's API token in SSM
    (``TOKEN_PARAMETER``); returns their ids."""
    factory = ClientFactory(AwsTarget(region=region, endpoint_url=endpoint, max_attempts=1))
    ec2 = factory.client("ec2")
    vpc_id = ec2.create_vpc(
        CidrBlock=VPC_CIDR, TagSpecifications=_name("runnerfleet-sandbox", "vpc")
    )["Vpc"]["VpcId"]
    subnet_ids = []
    for zone, cidr in SUBNETS:
        subnet = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=f"{region}{zone}",
            TagSpecifications=_name(f"runnerfleet-sandbox-private-{zone}", "subnet"),
        )["Subnet"]
        subnet_ids.append(subnet["SubnetId"])
    s3 = factory.client("s3")
    if region == "us-east-1":
        s3.create_bucket(Bucket=BUCKET)
    else:
        location: Any = {"LocationConstraint": region}  # any region the sandbox was given
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration=location)
    factory.client("ssm").put_parameter(
        Name=TOKEN_PARAMETER,
        Type="SecureString",
        Value=SANDBOX_ACCESS_TOKEN,
        Description="The sandbox GitLab stand-in's API token (valid nowhere else)",
    )
    return Seeded(vpc_id=str(vpc_id), subnet_ids=tuple(subnet_ids), bucket=BUCKET)


def _name(name: str, kind: str) -> list[Any]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def status() -> tuple[SandboxState | None, bool]:
    """The recorded sandbox (if any) and whether it answers."""
    current = state_file.load()
    return current, current is not None and state_file.answers(current.endpoint)


def status_document(state: SandboxState | None, answering: bool) -> dict[str, object]:
    """``sandbox status --json``: where to point any client (boto3, the AWS CLI, python-gitlab).

    The access keys and GitLab token are the sandbox's fixed stand-in values (like moto's dummy
    keys); they are valid nowhere else.
    """
    if state is None:
        return {"running": False}
    doc: dict[str, object] = {
        "running": answering,
        "aws_endpoint": state.endpoint,
        "region": state.region,
        "account_id": state.account_id,
        "aws_access_key_id": SANDBOX_ACCESS_KEY,
        "aws_secret_access_key": SANDBOX_SECRET_KEY,
        "pid": state.pid,
        "vpc_id": state.vpc_id,
        "subnet_ids": list(state.subnet_ids),
        "bucket": state.bucket,
        "schedule_factor": state.schedule_factor,
        "log_file": state.log_file,
        "state_file": str(state_file.state_path()),
    }
    if state.gitlab_url:
        doc.update(gitlab_url=state.gitlab_url, gitlab_token=SANDBOX_ACCESS_TOKEN)
    return doc


def stop() -> SandboxState | None:
    """End the recorded twin and stand-in (those PIDs only) and remove the state file."""
    current = state_file.load()
    if current is None:
        return None
    if process.is_twin(current.pid):
        process.terminate(current.pid)
    if process.is_ours(current.gitlab_pid, GITLAB_MODULE.encode(), b"--ready-file"):
        process.terminate(current.gitlab_pid)
    state_file.clear()
    return current


def sandbox_spec(spec: FleetSpec, current: SandboxState) -> FleetSpec:
    """The spec pointed at the sandbox: its account, region, VPC, subnets and bucket.

    The only place the rewrite happens; commands print what it changed (``rewrite_notes``).
    No role is assumed in the sandbox, and the subnets are the seeded private ones.
    """
    return spec.model_copy(
        update={
            "aws": spec.aws.model_copy(
                update={
                    "account_id": SANDBOX_ACCOUNT,
                    "region": current.region,
                    "role_arn": None,
                    "profile": None,
                }
            ),
            "network": spec.network.model_copy(
                update={"vpc_id": current.vpc_id, "subnet_ids": current.subnet_ids}
            ),
            "artifacts": spec.artifacts.model_copy(update={"bucket": current.bucket}),
            "runner": _sandbox_runner(spec, current),
        }
    )


def _sandbox_runner(spec: FleetSpec, current: SandboxState) -> RunnerSection:
    """Twin instances download the sandbox's gitlab-runner (the runner agent's launcher) and
    check it against its own SHA-256: the bootstrap's download and check run unchanged. They
    register with the sandbox's GitLab stand-in, the one deploy creates the runners in, and
    the deployed functions read it with the stand-in's token (seeded in SSM)."""
    url, digest = runner_release()
    update: dict[str, object] = {"download_url": url, "sha256": digest}
    if current.gitlab_url:
        update["gitlab_url"] = current.gitlab_url
        if spec.runner.gitlab_token is not None:
            update["gitlab_token"] = SecretRef(ssm_parameter=TOKEN_PARAMETER)
    return spec.runner.model_copy(update=update)


def rewrite_notes(spec: FleetSpec, current: SandboxState) -> list[str]:
    """What ``sandbox_spec`` changed, for the operator to read."""
    return [
        f"account {spec.aws.account_id} -> {SANDBOX_ACCOUNT}, region {spec.aws.region} -> "
        f"{current.region}" + (", no role assumed" if spec.aws.role_arn else ""),
        f"vpc {spec.network.vpc_id} -> {current.vpc_id}, "
        f"subnets -> {', '.join(current.subnet_ids)}",
        f"artefact bucket {spec.artifacts.bucket} -> {current.bucket}",
        f"gitlab-runner {spec.runner.version} download -> the sandbox's runner agent "
        "(its own SHA-256)",
        *_gitlab_note(spec, current),
    ]


def _gitlab_note(spec: FleetSpec, current: SandboxState) -> list[str]:
    if not current.gitlab_url:
        return []
    notes = [f"gitlab {spec.runner.gitlab_url} -> the stand-in at {current.gitlab_url}"]
    if spec.runner.gitlab_token is not None:
        notes.append(f"gitlab API token -> the stand-in's, in SSM {TOKEN_PARAMETER}")
    return notes
