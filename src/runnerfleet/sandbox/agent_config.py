"""config.toml of the runner agent, read and written the way gitlab-runner does.

The global section (``concurrent``, ``check_interval``, ``listen_address``, ...) belongs to the
bootstrap and is kept byte for byte; ``register`` appends one ``[[runners]]`` entry and
``unregister`` removes entries, so the bootstrap's idempotence checks (``cmp``, ``grep name =``)
see what they see on a real instance.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

RUNNERS_HEADER = "[[runners]]"
DEFAULT_CHECK_INTERVAL = 3
DEFAULT_SHUTDOWN_TIMEOUT = 30


@dataclass(frozen=True)
class RunnerEntry:
    """One ``[[runners]]`` entry (the keys the agent uses; the rest rides along in ``extra``)."""

    name: str
    url: str
    token: str
    id: int = 0
    executor: str = "docker"
    limit: int = 0
    request_concurrency: int = 1
    docker: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentFile:
    head: str  # everything before the first [[runners]], verbatim
    concurrent: int
    check_interval: float
    listen_address: str
    shutdown_timeout: int
    runners: tuple[RunnerEntry, ...]


def read(path: Path) -> AgentFile:
    """The parsed file; a missing file is an empty configuration (as gitlab-runner treats it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    data = tomllib.loads(text)
    head = text.split("\n" + RUNNERS_HEADER, 1)[0] if not text.startswith(RUNNERS_HEADER) else ""
    if head and not head.endswith("\n"):
        head += "\n"
    return AgentFile(
        head=head,
        concurrent=int(data.get("concurrent", 1)),
        check_interval=float(data.get("check_interval", DEFAULT_CHECK_INTERVAL) or 3),
        listen_address=str(data.get("listen_address", "")),
        shutdown_timeout=int(data.get("shutdown_timeout", DEFAULT_SHUTDOWN_TIMEOUT) or 30),
        runners=tuple(_entry(raw) for raw in data.get("runners", [])),
    )


def _entry(raw: dict[str, Any]) -> RunnerEntry:
    known = {"name", "url", "token", "id", "executor", "limit", "request_concurrency", "docker"}
    return RunnerEntry(
        name=str(raw.get("name", "")),
        url=str(raw.get("url", "")),
        token=str(raw.get("token", "")),
        id=int(raw.get("id", 0)),
        executor=str(raw.get("executor", "docker")),
        limit=int(raw.get("limit", 0)),
        request_concurrency=int(raw.get("request_concurrency", 1)),
        docker=dict(raw.get("docker", {})),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def write(path: Path, config: AgentFile) -> None:
    """Replace the file atomically, mode 0600 (it holds runner tokens)."""
    text = config.head + "".join(render_entry(r) for r in config.runners)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)


def with_runners(config: AgentFile, runners: tuple[RunnerEntry, ...]) -> AgentFile:
    return replace(config, runners=runners)


def render_entry(entry: RunnerEntry) -> str:
    lines = [
        RUNNERS_HEADER,
        f"  name = {_value(entry.name)}",
        f"  url = {_value(entry.url)}",
        f"  id = {entry.id}",
        f"  token = {_value(entry.token)}",
        *(f"  {key} = {_value(value)}" for key, value in sorted(entry.extra.items())),
        f"  executor = {_value(entry.executor)}",
        f"  limit = {entry.limit}",
        f"  request_concurrency = {entry.request_concurrency}",
    ]
    if entry.docker:
        lines.append("  [runners.docker]")
        lines += [f"    {key} = {_value(value)}" for key, value in entry.docker.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):  # a TOML date-time, as gitlab-runner writes it
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's


def system_id(config_path: Path) -> str | None:
    """``.runner_system_id`` next to config.toml, as gitlab-runner reads it."""
    file = config_path.parent / ".runner_system_id"
    if not file.exists():
        return None
    return file.read_text(encoding="utf-8").strip() or None
