"""A pretend instance for the on-instance scripts: a temporary root, stub commands, fake IMDSv2.

Stubs (tests/instance/stubs) log every call as ``name<TAB>arg...`` to one file, so tests can
check the order of steps and what each command saw. The IMDS stand-in serves on 127.0.0.1 and,
like the real IMDSv2, answers metadata GETs only with a session token taken by PUT.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

STUBS = Path(__file__).parent / "stubs"
INSTANCE_ID = "i-0abc1234def567890"
REGION = "eu-west-1"
TOKEN_A = "glrt-t1_AAAAsecretAAAA1111"
TOKEN_B = "glrt-t1_BBBBsecretBBBB2222"
_SERIES = (
    'gitlab_runner_jobs{{executor_stage="{0}",runner_name="ci-a",stage="{0}",state="{1}"}} {2}'
)
RUNNER_METRICS = "\n".join(
    [
        "# TYPE gitlab_runner_jobs gauge",
        _SERIES.format("docker_run", "running", 2),
        _SERIES.format("get_sources", "running", 1),
        _SERIES.format("idle", "idle", 0),
        "",
    ]
)


@dataclass
class FakeImds:
    """IMDSv2 on loopback: PUT a token first, then GET with it; 404 for unknown items."""

    values: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, bool]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                ok = self.path == "/latest/api/token" and bool(
                    self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                )
                imds.requests.append(("PUT", self.path, ok))
                token = f"imds-session-{len(imds.tokens)}"
                imds.tokens.add(token)
                self._reply(200 if ok else 400, token if ok else "")

            def do_GET(self) -> None:
                if self.path == "/metrics":  # the runner's Prometheus endpoint, same server
                    self._reply(200, RUNNER_METRICS)
                    return
                ok = self.headers.get("X-aws-ec2-metadata-token") in imds.tokens
                imds.requests.append(("GET", self.path, ok))
                key = self.path.removeprefix("/latest/meta-data/")
                if not ok:
                    self._reply(401, "")
                elif key in imds.values:
                    self._reply(200, imds.values[key])
                else:
                    self._reply(404, "Not Found")

            def _reply(self, code: int, body: str) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def serve_imds() -> Iterator[FakeImds]:
    imds = FakeImds(values={"instance-id": INSTANCE_ID, "placement/region": REGION})
    server = ThreadingHTTPServer(("127.0.0.1", 0), imds.handler())
    imds.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield imds
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Instance:
    root: Path
    stub_dir: Path
    imds: FakeImds
    env: dict[str, str]

    @property
    def log(self) -> Path:
        return self.stub_dir / "calls.log"

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [line.split("\t") for line in self.log.read_text().splitlines()]

    def names(self) -> list[str]:
        """Each call as 'cmd sub' (e.g. 'aws autoscaling', 'gitlab-runner register')."""
        return [" ".join(c[:2]) for c in self.calls()]

    def index(self, *prefix: str) -> int:
        for i, call in enumerate(self.calls()):
            if call[: len(prefix)] == list(prefix):
                return i
        raise AssertionError(f"no call {prefix} in {self.names()}")

    def count(self, *prefix: str) -> int:
        return sum(1 for c in self.calls() if c[: len(prefix)] == list(prefix))

    def find(self, *prefix: str) -> list[list[str]]:
        return [c for c in self.calls() if c[: len(prefix)] == list(prefix)]

    def put_ssm(self, name: str, value: str) -> None:
        (self.stub_dir / "ssm").mkdir(exist_ok=True)
        (self.stub_dir / "ssm" / name.replace("/", "_")).write_text(value + "\n")

    def path(self, rel: str) -> Path:
        return self.root / rel.lstrip("/")

    def run(
        self, script: str, *, interpreter: str = "bash", **env: str
    ) -> subprocess.CompletedProcess[str]:
        script_file = self.stub_dir / "script-under-test.sh"
        script_file.write_text(script)
        return subprocess.run(
            [interpreter, str(script_file)],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def make_instance(tmp: Path, imds: FakeImds) -> Instance:
    root, stub_dir = tmp / "root", tmp / "stubs"
    bin_dir = stub_dir / "bin"
    bin_dir.mkdir(parents=True)
    for stub in STUBS.iterdir():
        target = stub_dir / stub.name if stub.name == "_log.sh" else bin_dir / stub.name
        shutil.copy(stub, target)
        target.chmod(0o755)
    root.mkdir()
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "STUB_DIR": str(stub_dir),
        "STUB_LOG": str(stub_dir / "calls.log"),
        "RUNNERFLEET_ROOT": str(root),
        "RUNNERFLEET_IMDS_URL": imds.url,
        "RUNNERFLEET_METRICS_URL": f"{imds.url}/metrics",
    }
    return Instance(root=root, stub_dir=stub_dir, imds=imds, env=env)


def runner_download(tmp: Path) -> tuple[str, str]:
    """The stub gitlab-runner as a 'release' at a file:// URL, and its SHA-256."""
    binary = tmp / "release" / f"gitlab-runner-linux-{machine_arch()}"
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(STUBS / "gitlab-runner", binary)
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    return f"file://{binary.parent}/gitlab-runner-linux-{{arch}}", digest


def assert_shellcheck_clean(files: list[str]) -> None:
    """shellcheck at style level finds nothing (skipped locally without it; CI has it)."""
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI"):
            pytest.fail("shellcheck is missing in CI: apt-get install -y shellcheck")
        pytest.skip("shellcheck is not installed (CI installs it)")
    result = subprocess.run(
        ["shellcheck", "--shell=bash", "--severity=style", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def machine_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
