"""The sandbox's state file: where the emulator listens, its PID and what it was seeded with.

``$RUNNERFLEET_HOME/sandbox.json`` (default ``~/.runnerfleet``). ``sandbox start`` writes it,
every ``--sandbox`` command reads it, ``sandbox stop`` removes it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from runnerfleet.errors import SandboxError

SANDBOX_ACCOUNT = "123456789012"  # moto's fixed account id
DEFAULT_REGION = "us-east-1"
# rate(1 minute) at most every second: faster, the autoscaler's evaluations would overlap
MAX_SCHEDULE_FACTOR = 60.0
# The emulator is on loopback; an HTTP proxy from the environment must never see the request.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class SandboxState:
    endpoint: str
    pid: int
    port: int
    region: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    bucket: str
    log_file: str
    account_id: str = SANDBOX_ACCOUNT
    gitlab_url: str | None = None  # the GitLab stand-in, when one was started
    gitlab_pid: int = 0
    schedule_factor: float = 1.0  # EventBridge schedules run this many times faster

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SandboxState:
        raw = json.loads(text)
        raw["subnet_ids"] = tuple(raw.get("subnet_ids", ()))
        return cls(**raw)


def home() -> Path:
    return Path(os.environ.get("RUNNERFLEET_HOME") or Path.home() / ".runnerfleet")


def state_path() -> Path:
    return home() / "sandbox.json"


def save(state: SandboxState) -> Path:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json() + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load() -> SandboxState | None:
    path = state_path()
    if not path.exists():
        return None
    try:
        return SandboxState.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError) as exc:
        raise SandboxError(
            f"the sandbox state file {path} is unreadable",
            hint=f"delete it (rm {path}) and run `runnerfleet sandbox start`",
        ) from exc


def clear() -> None:
    state_path().unlink(missing_ok=True)


def answers(endpoint: str, timeout_s: float = 1.0) -> bool:
    """True when the emulator at ``endpoint`` responds to its management API."""
    try:
        with _NO_PROXY.open(f"{endpoint}/moto-api/config", timeout=timeout_s) as resp:
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def require_running() -> SandboxState:
    """The running sandbox, or an error that says how to start it."""
    state = load()
    if state is None:
        raise SandboxError(
            "no sandbox is running",
            hint="start one with `runnerfleet sandbox start` (or drop --sandbox to use real AWS)",
        )
    if not answers(state.endpoint):
        raise SandboxError(
            f"the sandbox recorded at {state.endpoint} (pid {state.pid}) does not answer",
            hint="run `runnerfleet sandbox stop` then `runnerfleet sandbox start`",
        )
    return state
