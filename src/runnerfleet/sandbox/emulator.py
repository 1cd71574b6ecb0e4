"""The embedded AWS emulator: a moto server on 127.0.0.1, started in the background.

``start`` launches ``python -m moto.server`` as a detached process, waits until it answers,
turns off moto's Docker-based Lambda execution, seeds a VPC with private subnets and an
artefact bucket, and records all of it in the state file. ``stop`` ends exactly that PID.

moto assigns its own resource ids, so an environment file's VPC can never match: the
``--sandbox`` commands rewrite the spec with ``sandbox_spec`` (and say so).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SandboxError
from runnerfleet.sandbox import state as state_file
from runnerfleet.sandbox.state import SANDBOX_ACCOUNT, SandboxState

HOST = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
BUCKET = "runnerfleet-sandbox-artifacts"
GITLAB_MODULE = "runnerfleet.sandbox.standin"
VPC_CIDR = "10.42.0.0/16"
SUBNETS = (("a", "10.42.1.0/24"), ("b", "10.42.2.0/24"))
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(
    region: str = DEFAULT_REGION, port: int | None = None, wait_s: float = 30.0
) -> SandboxState:
    """Start (or return the already running) sandbox, seeded and recorded."""
    current = state_file.load()
    if current is not None and state_file.answers(current.endpoint):
        return current
    port = port or free_port()
    log = state_file.home() / "sandbox.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the command that started it; stop ends it
        )
    endpoint = f"http://{HOST}:{port}"
    gitlab: tuple[str, int] | None = None
    try:
        _wait_until_answering(endpoint, proc, wait_s)
        configure(endpoint)
        seeded = seed(endpoint, region)
        gitlab = start_gitlab(wait_s)
    except BaseException:
        _terminate(proc.pid)
        raise
    new = SandboxState(
        endpoint=endpoint,
        pid=proc.pid,
        port=port,
        region=region,
        vpc_id=seeded.vpc_id,
        subnet_ids=seeded.subnet_ids,
        bucket=seeded.bucket,
        log_file=str(log),
        gitlab_url=gitlab[0],
        gitlab_pid=gitlab[1],
    )
    state_file.save(new)
    return new


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
    _terminate(proc.pid)
    raise SandboxError(
        "the GitLab stand-in did not start",
        hint=f"read {state_file.home() / 'gitlab.log'}, then retry `runnerfleet sandbox start`",
    )


def _wait_until_answering(endpoint: str, proc: subprocess.Popen[bytes], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(
                f"the emulator exited at start (code {proc.returncode})",
                hint=f"read {state_file.home() / 'sandbox.log'}; is moto[server] installed?",
            )
        if state_file.answers(endpoint, timeout_s=0.5):
            return
        time.sleep(0.1)
    raise SandboxError(
        f"the emulator did not answer at {endpoint} within {wait_s:.0f} s",
        hint=f"read {state_file.home() / 'sandbox.log'}, then retry `runnerfleet sandbox start`",
    )


def configure(endpoint: str) -> None:
    """Lambda without Docker: moto then answers invocations without running code."""
    body = json.dumps({"lambda": {"use_docker": False}}).encode()
    request = urllib.request.Request(_loopback(endpoint) + "/moto-api/config", data=body)  # noqa: S310
    with _NO_PROXY.open(request, timeout=5):
        pass


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
    """A VPC with two private subnets and an artefact bucket; returns their ids."""
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
    return Seeded(vpc_id=str(vpc_id), subnet_ids=tuple(subnet_ids), bucket=BUCKET)


def _name(name: str, kind: str) -> list[Any]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def status() -> tuple[SandboxState | None, bool]:
    """The recorded sandbox (if any) and whether it answers."""
    current = state_file.load()
    return current, current is not None and state_file.answers(current.endpoint)


def stop() -> SandboxState | None:
    """End the recorded emulator process (that PID only) and remove the state file."""
    current = state_file.load()
    if current is None:
        return None
    if _is_ours(current.pid, b"moto.server", str(current.port).encode()):
        _terminate(current.pid)
    if _is_ours(current.gitlab_pid, GITLAB_MODULE.encode(), b"--ready-file"):
        _terminate(current.gitlab_pid)
    state_file.clear()
    return current


def _is_ours(pid: int, program: bytes, marker: bytes) -> bool:
    """Guard against a recycled PID: the process must run ``program`` with ``marker``."""
    if pid <= 1:  # 0, -1 and 1 would signal groups, everyone, or init
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        args = cmdline.read_bytes().split(b"\0")
        return program in args and marker in args
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return sys.platform != "linux"  # no /proc to check: trust the state file


def _terminate(pid: int, wait_s: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child: reap it
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


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
        }
    )


def rewrite_notes(spec: FleetSpec, current: SandboxState) -> list[str]:
    """What ``sandbox_spec`` changed, for the operator to read."""
    return [
        f"account {spec.aws.account_id} -> {SANDBOX_ACCOUNT}, region {spec.aws.region} -> "
        f"{current.region}" + (", no role assumed" if spec.aws.role_arn else ""),
        f"vpc {spec.network.vpc_id} -> {current.vpc_id}, "
        f"subnets -> {', '.join(current.subnet_ids)}",
        f"artefact bucket {spec.artifacts.bucket} -> {current.bucket}",
    ]
