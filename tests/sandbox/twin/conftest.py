"""Fixtures of the twin tests: the front in-process over real HTTP, the twin as a process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from werkzeug.serving import make_server

from runnerfleet.sandbox import emulator
from runnerfleet.sandbox.twin import process
from runnerfleet.sandbox.twin.front import Front, Route

REGION = "us-east-1"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


class Served:
    """A WSGI app on 127.0.0.1 for the duration of a test."""

    def __init__(self, app: WsgiApp) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="runnerfleet-sandbox",
            aws_secret_access_key="runnerfleet-sandbox",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def serve_front() -> Iterator[Callable[[WsgiApp, dict[str, Route]], Served]]:
    """Serve a Front over the given moto stand-in app and routes; shut down after the test."""
    served: list[Served] = []

    def _serve(moto: WsgiApp, routes: dict[str, Route]) -> Served:
        server = Served(Front(moto, routes))
        served.append(server)
        return server

    yield _serve
    for server in served:
        server.close()


# ----- the twin as a process, as `runnerfleet sandbox start` runs it ------------------------


@dataclass(frozen=True)
class RunningTwin:
    endpoint: str
    region: str
    subnet_ids: tuple[str, ...]
    vpc_id: str
    home: Path
    pid: int

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id="runnerfleet-sandbox",
            aws_secret_access_key="runnerfleet-sandbox",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def env(self) -> dict[str, str]:
        """What a command-line client needs to reach the twin (and only the twin)."""
        env = dict(os.environ)
        env.update(
            RUNNERFLEET_HOME=str(self.home),
            AWS_ACCESS_KEY_ID="runnerfleet-sandbox",
            AWS_SECRET_ACCESS_KEY="runnerfleet-sandbox",
            AWS_DEFAULT_REGION=self.region,
            AWS_PAGER="",
        )
        return env


@contextmanager
def _home(path: Path) -> Iterator[None]:
    before = os.environ.get("RUNNERFLEET_HOME")
    os.environ["RUNNERFLEET_HOME"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("RUNNERFLEET_HOME", None)
        else:
            os.environ["RUNNERFLEET_HOME"] = before


@contextmanager
def own_sandbox(home: Path) -> Iterator[dict[str, Any]]:
    """A sandbox of its own in ``home``, lifecycle actions left to the deployed software: its
    ``sandbox status --json`` document while it runs; stopped (by PID) afterwards."""
    with _home(home):
        try:
            yield emulator.status_document(emulator.start(wait_s=60), True)
        finally:
            emulator.stop()


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    """One twin process per test session (per xdist worker) in a private home; stopped by PID."""
    home = tmp_path_factory.mktemp("twin-home")
    with _home(home):
        state = emulator.start(region=REGION, wait_s=60, hold_actions=True)
    try:
        yield RunningTwin(
            state.endpoint, state.region, state.subnet_ids, state.vpc_id, home, state.pid
        )
    finally:
        with _home(home):
            emulator.stop()
        for pid in (state.pid, state.gitlab_pid):
            if process.alive(pid):
                os.kill(pid, signal.SIGKILL)


def aws_cli_v2() -> str | None:
    """The AWS CLI v2 (Debian's awscli), wherever it is; None when only v1 or nothing is."""
    for candidate in (shutil.which("aws"), "/usr/bin/aws"):
        if not candidate or not Path(candidate).exists():
            continue
        out = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=False)
        if (out.stdout + out.stderr).startswith("aws-cli/2."):
            return candidate
    return None
