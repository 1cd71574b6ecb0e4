"""systemd unit files as the systemctl shim reads them: the unit, then its drop-ins.

Only what the project's units use: ``[Service]`` ``ExecStart``, ``Type`` (simple, oneshot),
``RemainAfterExit``, ``Restart``/``RestartSec``, ``KillSignal``, ``TimeoutStopSec``,
``StandardOutput``/``StandardError`` (``append:FILE``, ``inherit``), ``Environment``,
``EnvironmentFile`` and ``WorkingDirectory``. Drop-ins (``NAME.service.d/*.conf``, in name
order) override the unit's assignments; an empty ``ExecStart=`` clears it, as in systemd.
"""

from __future__ import annotations

import os
import shlex
import signal
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_STOP_TIMEOUT_S = 90.0  # systemd's DefaultTimeoutStopSec


class UnitError(ValueError):
    """The unit does not exist or cannot be understood."""


@dataclass(frozen=True)
class Paths:
    """Where an instance keeps units (/etc and /usr/lib) and the shim's runtime state."""

    root: Path
    etc: Path
    lib: Path
    state: Path

    @classmethod
    def from_environment(cls) -> Paths:
        root = Path(os.environ.get("RUNNERFLEET_ROOT") or "/")
        etc = os.environ.get("RUNNERFLEET_SYSTEMD_DIR")
        return cls(
            root=root,
            etc=Path(etc) if etc else root / "etc/systemd/system",
            lib=root / "usr/lib/systemd/system",
            state=root / "run/twin-systemd",
        )

    def wants(self, unit: str) -> Path:
        return self.etc / "multi-user.target.wants" / unit


@dataclass
class Unit:
    name: str
    path: Path
    exec_start: list[str] = field(default_factory=list)
    kind: str = "simple"
    remain_after_exit: bool = False
    restart: str = "no"
    restart_s: float = 0.1
    kill_signal: int = signal.SIGTERM
    stop_timeout_s: float | None = DEFAULT_STOP_TIMEOUT_S  # None: infinity
    stdout: str = "inherit"
    stderr: str = "inherit"
    environment: dict[str, str] = field(default_factory=dict)
    environment_files: list[str] = field(default_factory=list)
    working_directory: str | None = None


def unit_name(name: str) -> str:
    return name if "." in name else f"{name}.service"


def find_unit(paths: Paths, name: str) -> Unit:
    name = unit_name(name)
    for directory in (paths.etc, paths.lib):
        if (directory / name).is_file():
            unit = Unit(name=name, path=directory / name)
            for file in [directory / name, *sorted((paths.etc / f"{name}.d").glob("*.conf"))]:
                _apply(unit, file.read_text(encoding="utf-8"))
            return unit
    raise UnitError(f"Unit {name} not found.")


def _apply(unit: Unit, text: str) -> None:
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line:
            key, _, value = line.partition("=")
            _assign(unit, key.strip(), value.strip())


def _assign(unit: Unit, key: str, value: str) -> None:  # noqa: PLR0912 - one branch per key
    if key == "ExecStart":
        unit.exec_start = shlex.split(value.lstrip("-@+!")) if value else []
    elif key == "Type":
        unit.kind = value
    elif key == "RemainAfterExit":
        unit.remain_after_exit = value.lower() in ("yes", "true", "1", "on")
    elif key == "Restart":
        unit.restart = value
    elif key == "RestartSec":
        unit.restart_s = parse_seconds(value) or 0.1
    elif key == "KillSignal":
        unit.kill_signal = parse_signal(value)
    elif key == "TimeoutStopSec":
        unit.stop_timeout_s = parse_seconds(value)
    elif key == "StandardOutput":
        unit.stdout = value
    elif key == "StandardError":
        unit.stderr = value
    elif key == "Environment":
        for word in shlex.split(value):
            name, _, setting = word.partition("=")
            unit.environment[name] = setting
    elif key == "EnvironmentFile":
        unit.environment_files.append(value)
    elif key == "WorkingDirectory":
        unit.working_directory = value


def parse_seconds(value: str) -> float | None:
    """``90``, ``90s``, ``2min``, ``500ms``; ``infinity`` is None."""
    text = value.strip().lower()
    if text == "infinity":
        return None
    for suffix, factor in (("ms", 0.001), ("min", 60.0), ("sec", 1.0), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix) and text[: -len(suffix)].strip().replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * factor
    try:
        return float(text)
    except ValueError:
        raise UnitError(f"invalid time span {value!r}") from None


def parse_signal(value: str) -> int:
    name = value.strip().upper()
    name = name if name.startswith("SIG") else f"SIG{name}"
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise UnitError(f"unknown signal {value!r}") from None


def in_root(paths: Paths, path: str) -> Path:
    """An absolute path of the instance: already under its root, or taken relative to it."""
    if path.startswith(str(paths.root)):
        return Path(path)
    return paths.root / path.lstrip("/")


def environment_of(paths: Paths, unit: Unit, base: dict[str, str]) -> dict[str, str]:
    """The service's environment: the instance's base, EnvironmentFile=, Environment=."""
    env = dict(base)
    for entry in unit.environment_files:
        optional, path = entry.startswith("-"), entry.lstrip("-")
        file = in_root(paths, path)
        if not file.is_file():
            if optional:
                continue
            raise UnitError(f"EnvironmentFile {path} of {unit.name} does not exist")
        for line in file.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and not name.startswith("#"):
                env[name] = value.strip('"')
    env.update(unit.environment)
    return env


def output_path(paths: Paths, unit: Unit, setting: str) -> Path:
    """Where a stream goes: ``append:FILE`` or the unit's own journal file."""
    for prefix in ("append:", "file:"):
        if setting.startswith(prefix):
            return Path(setting[len(prefix) :])
    return paths.root / "var/log/twin-journal" / f"{unit.name}.log"
