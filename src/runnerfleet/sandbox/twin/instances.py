"""Twin instances: each EC2 instance of an emulated group runs its launch template's user data.

An instance gets its own loopback address (127.0.100.1 upwards, never 127.0.0.1, so scrapes
and GitLab's manager IPs tell instances apart), its own root directory under the sandbox
home, its own IMDSv2 (``imds.py``) on its address, and runs the user data, the real bootstrap
as the template renders it, under bash with the documented shims (``shims/``) first on PATH.
The real AWS CLI v2 runs on it against the twin's endpoint with the sandbox's credentials.
Outbound HTTP that is not for loopback goes to a dead proxy, so a URL the sandbox did not
rewrite fails on this machine instead of reaching the internet. Every process an instance
runs is recorded (supervisor PIDs) and ended by PID when it terminates or the twin stops.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runnerfleet.errors import SandboxError
from runnerfleet.sandbox.twin import shims
from runnerfleet.sandbox.twin.addresses import AddressPool
from runnerfleet.sandbox.twin.imds import Imds, ImdsServer, InstanceMetadata
from runnerfleet.sandbox.twin.shims.systemctl import alive

LOG = logging.getLogger("runnerfleet.twin.instances")
METRICS_PORT = 9252
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing answers there
NO_PROXY = "localhost,127.0.0.1,127.0.0.0/8"
STOP_GRACE_S = 3.0
SUPERVISE = "runnerfleet.sandbox.twin.shims.supervise"


@dataclass(frozen=True)
class TwinEndpoint:
    """How an instance reaches the twin: its AWS endpoint, region, account and credentials."""

    aws_endpoint: str
    region: str
    account_id: str
    access_key: str = "runnerfleet-sandbox"  # moto's dummy credentials, not secrets
    secret_key: str = "runnerfleet-sandbox"  # noqa: S105


@dataclass
class Instance:
    instance_id: str
    group: str
    address: str
    root: Path
    metadata: InstanceMetadata
    imds: ImdsServer
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    powered: bool = True

    @property
    def metrics_url(self) -> str:
        return f"http://{self.address}:{METRICS_PORT}/metrics"

    def boot_status(self) -> int | None:
        """The user data's exit status once it ended (None while it runs)."""
        return self.processes[0].poll() if self.processes else None


def find_aws_cli(candidates: tuple[str, ...] = ()) -> str | None:
    """The first AWS CLI *v2* found: RUNNERFLEET_AWS_CLI, /usr/bin/aws, /usr/local/bin/aws, PATH."""
    names = candidates or tuple(
        c
        for c in (
            os.environ.get("RUNNERFLEET_AWS_CLI", ""),
            "/usr/bin/aws",
            "/usr/local/bin/aws",
            shutil.which("aws") or "",
        )
        if c
    )
    for name in names:
        try:
            out = subprocess.run(
                [name, "--version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if (out.stdout + out.stderr).startswith("aws-cli/2."):
            return name
    return None


def missing_aws_cli() -> SandboxError:
    return SandboxError(
        "the AWS CLI v2 is not installed: twin instances run the real `aws` command, so the "
        "sandbox cannot run instances",
        hint="install it (Debian/Ubuntu: apt-get install awscli), or set RUNNERFLEET_AWS_CLI "
        "to an AWS CLI v2 executable",
    )


def user_data_of(launch_template_data: Mapping[str, Any], user_data: str) -> str:
    """The script to run: ``user_data`` as given, else the template's base64 UserData."""
    if user_data:
        return user_data
    encoded = str(launch_template_data.get("UserData") or "")
    return base64.b64decode(encoded).decode("utf-8") if encoded else ""


def instance_tags(
    launch_template_data: Mapping[str, Any], group: str, tags: Mapping[str, str] | None
) -> dict[str, str]:
    if tags is not None:
        return dict(tags)
    found = {"aws:autoscaling:groupName": group}
    for spec in launch_template_data.get("TagSpecifications") or []:
        if spec.get("ResourceType") == "instance":
            found.update({t["Key"]: t["Value"] for t in spec.get("Tags", [])})
    return found


class InstanceRuntime:
    """The world's instance runtime: ``start``/``stop`` instances, tell their IMDS what AWS
    would (target lifecycle state, spot notice), and give Run Command their environment."""

    def __init__(
        self,
        home: Path,
        endpoint: TwinEndpoint | Callable[[], TwinEndpoint],
        *,
        aws_cli: str | None = None,
        python: str = sys.executable,
        addresses: AddressPool | None = None,
    ) -> None:
        self.home = home
        self._endpoint = endpoint
        self.python = python
        self.addresses = addresses or AddressPool()
        self._aws_cli = aws_cli
        self._instances: dict[str, Instance] = {}
        self._lock = threading.Lock()

    # ---- the interface the world uses ----

    def start(
        self,
        instance_id: str,
        group_name: str,
        launch_template_data: Mapping[str, Any],
        user_data: str = "",
        *,
        tags: Mapping[str, str] | None = None,
        availability_zone: str | None = None,
        instance_type: str | None = None,
    ) -> str:
        """Create the instance and run its user data in the background; its address."""
        cli = self.aws_cli()
        script = user_data_of(launch_template_data, user_data)
        options = launch_template_data.get("MetadataOptions") or {}
        address, imds_server = self.addresses.claim(self._imds_for)
        metadata = imds_server.imds.metadata
        metadata.instance_id = instance_id
        metadata.user_data = script
        metadata.instance_type = instance_type or str(
            launch_template_data.get("InstanceType", "t3.medium")
        )
        metadata.ami_id = str(launch_template_data.get("ImageId", metadata.ami_id))
        metadata.availability_zone = availability_zone or f"{self.endpoint.region}a"
        metadata.tokens_required = options.get("HttpTokens", "optional") == "required"
        metadata.endpoint_enabled = options.get("HttpEndpoint", "enabled") != "disabled"
        if options.get("InstanceMetadataTags") == "enabled":
            metadata.tags = instance_tags(launch_template_data, group_name, tags)
        root = self.home / "instances" / instance_id / "root"
        instance = Instance(instance_id, group_name, address, root, metadata, imds_server, {})
        instance.env = self._environment(instance, cli)
        self._prepare_root(instance)
        with self._lock:
            self._instances[instance_id] = instance
        self._run_user_data(instance, script)
        return address

    def stop(self, instance_id: str) -> None:
        """The instance terminated: every process on it dies, its address is released."""
        with self._lock:
            instance = self._instances.pop(instance_id, None)
        if instance is not None:
            self._power_off(instance)
            instance.imds.stop()
            self.addresses.release(instance.address)

    def address_of(self, instance_id: str) -> str | None:
        instance = self.get(instance_id)
        return instance.address if instance else None

    def spot_notice(self, instance_id: str, at: float) -> None:
        """IMDS ``spot/instance-action`` answers from now on (terminate at ``at``)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        self._update(instance_id, spot_action={"action": "terminate", "time": stamp})

    def rebalance_recommendation(self, instance_id: str, at: float) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        self._update(instance_id, rebalance={"noticeTime": stamp})

    def set_target_state(self, instance_id: str, state: str | None) -> None:
        """IMDS ``autoscaling/target-lifecycle-state`` (InService, Terminated, Warmed:*...)."""
        self._update(instance_id, target_lifecycle_state=state)

    def power_off(self, instance_id: str) -> None:
        """Stop the instance (a warm pool's Warmed:Stopped): its processes end, its disk stays."""
        instance = self.get(instance_id)
        if instance is not None:
            self._power_off(instance)

    def power_on(self, instance_id: str) -> None:
        """Start a stopped instance: systemd starts the enabled units (user data ran once)."""
        instance = self.get(instance_id)
        if instance is None or instance.powered:
            return
        instance.powered = True
        wants = instance.root / "etc/systemd/system/multi-user.target.wants"
        for unit in sorted(p.name for p in wants.iterdir()) if wants.is_dir() else []:
            subprocess.run(
                [str(instance.root / ".twin/bin/systemctl"), "start", unit],
                env=instance.env, capture_output=True, timeout=30, check=False,
            )  # fmt: skip

    def get(self, instance_id: str) -> Instance | None:
        with self._lock:
            return self._instances.get(instance_id)

    def reachable(self, instance_id: str) -> bool:
        """Run Command can deliver to it: it exists and runs."""
        instance = self.get(instance_id)
        return instance is not None and instance.powered

    def instances(self) -> list[Instance]:
        with self._lock:
            return list(self._instances.values())

    def shutdown(self) -> None:
        """Stop every instance (in parallel: each takes up to a few seconds)."""
        threads = [
            threading.Thread(target=self.stop, args=(i.instance_id,)) for i in self.instances()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=STOP_GRACE_S * 3)

    @property
    def endpoint(self) -> TwinEndpoint:
        """Resolved at use: the twin knows its endpoint only once the front listens."""
        return self._endpoint if isinstance(self._endpoint, TwinEndpoint) else self._endpoint()

    def aws_cli(self) -> str:
        if self._aws_cli is None:
            self._aws_cli = find_aws_cli() or ""
        if not self._aws_cli:
            raise missing_aws_cli()
        return self._aws_cli

    # ---- inside ----

    def _imds_for(self, address: str) -> ImdsServer:
        metadata = InstanceMetadata(
            instance_id="",
            account_id=self.endpoint.account_id,
            region=self.endpoint.region,
            availability_zone=f"{self.endpoint.region}a",
            local_ipv4=address,
        )
        return ImdsServer(Imds(metadata), address).start()

    def _update(self, instance_id: str, **changes: Any) -> None:
        instance = self.get(instance_id)
        if instance is None:
            return
        with instance.metadata.lock:
            for name, value in changes.items():
                setattr(instance.metadata, name, value)

    def _environment(self, instance: Instance, aws_cli: str) -> dict[str, str]:
        root, twin = instance.root, instance.root / ".twin"
        env = {
            "PATH": f"{twin / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(root / "root"),
            "LANG": "C.UTF-8",
            "RUNNERFLEET_ROOT": str(root),
            "RUNNERFLEET_IMDS_URL": instance.imds.url,
            "RUNNERFLEET_METRICS_URL": instance.metrics_url,
            "RUNNERFLEET_INSTANCE_ADDRESS": instance.address,
            "RUNNERFLEET_TWIN_INSTANCE": instance.instance_id,
            "RUNNERFLEET_TWIN_PID": str(os.getpid()),
            "RUNNERFLEET_TWIN_PYTHON": self.python,
            "RUNNERFLEET_TWIN_SHIMS": str(shims.SHIMS_DIR),
            "RUNNERFLEET_TWIN_BIN": str(twin / "bin"),
            "RUNNERFLEET_TWIN_ENV_FILE": str(twin / "environment.json"),
            "RUNNERFLEET_AWS_CLI": aws_cli,
            "AWS_ENDPOINT_URL": self.endpoint.aws_endpoint,
            "AWS_ACCESS_KEY_ID": self.endpoint.access_key,
            "AWS_SECRET_ACCESS_KEY": self.endpoint.secret_key,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(root / "root/.aws/config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "root/.aws/credentials"),
            "AWS_PAGER": "",
        }
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env[name] = DEAD_PROXY
        env["no_proxy"] = env["NO_PROXY"] = NO_PROXY
        return env

    def _prepare_root(self, instance: Instance) -> None:
        twin = instance.root / ".twin"
        for rel in ("root", "etc", "tmp", "var/log", "var/lib/cloud/instance"):
            (instance.root / rel).mkdir(parents=True, exist_ok=True)
        shims.install(twin / "bin")
        env_file = twin / "environment.json"
        env_file.write_text(json.dumps(instance.env, indent=2, sort_keys=True) + "\n")
        env_file.chmod(0o600)

    def _run_user_data(self, instance: Instance, script: str) -> None:
        if not script.startswith("#!"):
            LOG.warning("%s: user data is not a shell script; nothing runs", instance.instance_id)
            return
        path = instance.root / "var/lib/cloud/instance/user-data.txt"
        path.write_text(script)
        path.chmod(0o700)
        instance.processes.append(self.spawn(instance, ["bash", str(path)], "cloud-init-output"))

    def spawn(
        self, instance: Instance, command: list[str], log_name: str
    ) -> subprocess.Popen[bytes]:
        """Run ``command`` on ``instance`` under the supervisor; output to var/log/LOG.log."""
        log = instance.root / "var/log" / f"{log_name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            return subprocess.Popen(
                [self.python, "-m", SUPERVISE, "--", *command],
                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                env=instance.env, cwd=instance.root, start_new_session=True,
            )  # fmt: skip

    def _power_off(self, instance: Instance) -> None:
        instance.powered = False
        pids = [p.pid for p in instance.processes if p.poll() is None]
        pids += list(_service_supervisors(instance.root / "run/twin-systemd"))
        ours = [pid for pid in pids if _belongs_to(pid, instance.instance_id)]
        _signal_all(ours, signal.SIGTERM)
        _wait_gone(ours, STOP_GRACE_S)
        _signal_all([p for p in ours if _belongs_to(p, instance.instance_id)], signal.SIGKILL)
        for process in instance.processes:
            _reap(process)


def _service_supervisors(state: Path) -> Iterator[int]:
    for file in sorted(state.glob("*.pid")) if state.is_dir() else []:
        try:
            yield int(file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue


def _belongs_to(pid: int, instance_id: str) -> bool:
    """Guard against a recycled PID: the process must carry this instance's marker."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"RUNNERFLEET_TWIN_INSTANCE={instance_id}".encode() in environ.split(b"\0")


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(pids: list[int], seconds: float, check: Callable[[int], bool] = alive) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(check(p) for p in pids):
        time.sleep(0.05)


def _reap(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        process.kill()
