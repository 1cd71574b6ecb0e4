"""``systemctl`` on a twin instance: services as recorded background processes.

    systemctl daemon-reload | enable [--now] U | disable [--now] U | start U | stop [--no-block] U
    systemctl restart U | kill [--kill-who=main|all] [--signal=SIG] U | is-active U | is-enabled U

``start`` forks a supervisor (its own session) that runs the unit's ``ExecStart`` in a process
group of its own, with the instance's environment and the unit's output settings, records
``<supervisor pid> <main pid>`` in ``$RUNNERFLEET_ROOT/run/twin-systemd/UNIT.pid``, restarts it
as ``Restart=``/``RestartSec=`` say, and on ``stop`` sends ``KillSignal=`` (the runner's drop-in
says SIGQUIT) and waits ``TimeoutStopSec=`` (``infinity``: as long as the process runs) before
SIGKILL. Every supervisor ends its service when the twin process is gone, so nothing outlives
the sandbox. ``enable`` links the unit into ``multi-user.target.wants`` as systemd does; an
instance "boot" starts what is linked there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from runnerfleet.sandbox.twin.shims.units import (
    Paths,
    Unit,
    UnitError,
    environment_of,
    find_unit,
    output_path,
    parse_signal,
    unit_name,
)

POLL_S = 0.2
START_WAIT_S = 10.0


# ---- the state files ----


def pid_file(paths: Paths, unit: str) -> Path:
    return paths.state / f"{unit}.pid"


def stop_file(paths: Paths, unit: str) -> Path:
    return paths.state / f"{unit}.stop"


def alive(pid: int) -> bool:
    if pid <= 1:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return not stat.read_text().rsplit(") ", 1)[-1].startswith("Z")
    except OSError:
        return True


def running_pids(paths: Paths, unit: str) -> tuple[int, int] | None:
    """(supervisor, main) of a running service, or None."""
    try:
        sup, main = (int(p) for p in pid_file(paths, unit).read_text().split())
    except (OSError, ValueError):
        return None
    return (sup, main) if alive(sup) else None


def is_active(paths: Paths, unit: str) -> bool:
    return running_pids(paths, unit) is not None or (paths.state / f"{unit}.active").exists()


def twin_gone() -> bool:
    twin = os.environ.get("RUNNERFLEET_TWIN_PID", "")
    return twin.isdigit() and not alive(int(twin))


def base_environment() -> dict[str, str]:
    """systemd gives services a clean environment: the instance's, not the caller's."""
    env_file = os.environ.get("RUNNERFLEET_TWIN_ENV_FILE", "")
    if env_file and Path(env_file).is_file():
        loaded: dict[str, str] = json.loads(Path(env_file).read_text(encoding="utf-8"))
        return loaded
    return dict(os.environ)


# ---- the supervisor (a forked child of `systemctl start`) ----


def _detach(paths: Paths, unit: Unit) -> None:
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, 1024)
    paths.state.mkdir(parents=True, exist_ok=True)


def _spawn(paths: Paths, unit: Unit, env: dict[str, str]) -> subprocess.Popen[bytes]:
    out = output_path(paths, unit, unit.stdout)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("ab") as stdout:
        err_setting = unit.stderr if unit.stderr not in ("inherit", "") else unit.stdout
        errpath = output_path(paths, unit, err_setting)
        errpath.parent.mkdir(parents=True, exist_ok=True)
        with errpath.open("ab") as stderr:
            return subprocess.Popen(
                unit.exec_start,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=env,
                cwd=unit.working_directory or None,
                process_group=0,  # KillSignal goes to the service's own group
            )


def signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _watch(paths: Paths, unit: Unit, child: subprocess.Popen[bytes]) -> bool:
    """Wait for the service to exit; True when it was stopped on purpose (or the twin left)."""
    deadline: float | None = None
    stopping = False
    while child.poll() is None:
        if twin_gone():
            signal_group(child.pid, signal.SIGKILL)
            stopping = True
        elif stop_file(paths, unit.name).exists() and not stopping:
            stopping = True
            signal_group(child.pid, unit.kill_signal)
            if unit.stop_timeout_s is not None:
                deadline = time.monotonic() + unit.stop_timeout_s
        elif deadline is not None and time.monotonic() > deadline:
            signal_group(child.pid, signal.SIGKILL)
            deadline = None
        time.sleep(POLL_S)
    signal_group(child.pid, signal.SIGKILL)  # whatever the main process left behind
    return stopping or stop_file(paths, unit.name).exists()


def _wants_restart(unit: Unit, code: int) -> bool:
    return unit.restart == "always" or (unit.restart == "on-failure" and code != 0)


def _sleep_unless_stopped(paths: Paths, unit: Unit, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if twin_gone() or stop_file(paths, unit.name).exists():
            return False
        time.sleep(POLL_S)
    return True


def supervise(paths: Paths, unit: Unit, env: dict[str, str]) -> None:
    def _terminate(signum: int, frame: object) -> None:  # the instance powers off
        stop_file(paths, unit.name).touch()
        if child is not None:
            signal_group(child.pid, signal.SIGKILL)

    child: subprocess.Popen[bytes] | None = None
    signal.signal(signal.SIGTERM, _terminate)
    try:
        while True:
            child = _spawn(paths, unit, env)
            pid_file(paths, unit.name).write_text(f"{os.getpid()} {child.pid}\n")
            stopped = _watch(paths, unit, child)
            if stopped or not _wants_restart(unit, child.returncode or 0):
                break
            if not _sleep_unless_stopped(paths, unit, unit.restart_s):
                break
    finally:
        pid_file(paths, unit.name).unlink(missing_ok=True)
        stop_file(paths, unit.name).unlink(missing_ok=True)


# ---- the commands ----


def start(paths: Paths, name: str) -> int:
    unit = find_unit(paths, name)
    if is_active(paths, unit.name):
        return 0
    if not unit.exec_start:
        raise UnitError(f"{unit.name} has no ExecStart=")
    env = environment_of(paths, unit, base_environment())
    paths.state.mkdir(parents=True, exist_ok=True)
    stop_file(paths, unit.name).unlink(missing_ok=True)
    if unit.kind == "oneshot":
        code = subprocess.call(unit.exec_start, env=env, stdin=subprocess.DEVNULL)
        if code == 0 and unit.remain_after_exit:
            (paths.state / f"{unit.name}.active").touch()
        return 0 if code == 0 else 1
    if os.fork() == 0:  # the supervisor
        try:
            _detach(paths, unit)
            supervise(paths, unit, env)
        finally:
            os._exit(0)
    return _await(lambda: running_pids(paths, unit.name) is not None, START_WAIT_S, unit.name)


def _await(done: Callable[[], bool], seconds: float, unit: str) -> int:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if done():
            return 0
        time.sleep(0.05)
    print(f"Job for {unit} failed: it did not start within {seconds:.0f} s", file=sys.stderr)
    return 1


def stop(paths: Paths, name: str, block: bool = True) -> int:
    unit = unit_name(name)
    (paths.state / f"{unit}.active").unlink(missing_ok=True)
    pids = running_pids(paths, unit)
    if pids is None:
        return 0
    stop_file(paths, unit).touch()
    while block and alive(pids[0]):  # TimeoutStopSec is the supervisor's to enforce
        if twin_gone():
            return 1
        time.sleep(POLL_S)
    return 0


def kill(paths: Paths, name: str, sig: int, who: str) -> int:
    pids = running_pids(paths, unit_name(name))
    if pids is None:
        return 0
    if who == "main":
        os.kill(pids[1], sig)
    else:
        signal_group(pids[1], sig)
    return 0


def enable(paths: Paths, name: str) -> int:
    unit = find_unit(paths, name)
    link = paths.wants(unit.name)
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(unit.path)
        print(f"Created symlink {link} → {unit.path}.", file=sys.stderr)
    return 0


def disable(paths: Paths, name: str) -> int:
    link = paths.wants(unit_name(name))
    if link.is_symlink():
        link.unlink()
        print(f"Removed {link}.", file=sys.stderr)
    return 0


def enabled_units(paths: Paths) -> list[str]:
    wants = paths.etc / "multi-user.target.wants"
    return sorted(p.name for p in wants.iterdir()) if wants.is_dir() else []


def _options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    words, options = [], {}
    queue = list(args)
    while queue:
        arg = queue.pop(0)
        if arg == "-s" and queue:
            options["signal"] = queue.pop(0)
        elif arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            options[key] = value or "true"
        elif arg.startswith("-") and arg != "-":
            options[arg.lstrip("-")] = "true"
        else:
            words.append(arg)
    return words, options


def run(paths: Paths, verb: str, units: list[str], options: dict[str, str]) -> int:  # noqa: PLR0911
    if verb == "daemon-reload":
        return 0  # units are read afresh on every call
    if verb in ("enable", "disable"):
        action = enable if verb == "enable" else disable
        code = max((action(paths, u) for u in units), default=0)
        if "now" in options:
            code = max(code, run(paths, "start" if verb == "enable" else "stop", units, {}))
        return code
    if verb == "start":
        return max((start(paths, u) for u in units), default=0)
    if verb == "stop":
        return max((stop(paths, u, "no-block" not in options) for u in units), default=0)
    if verb == "restart":
        return run(paths, "stop", units, {}) or run(paths, "start", units, {})
    if verb == "kill":
        sig = parse_signal(options.get("signal", "SIGTERM"))
        who = options.get("kill-who", "all")
        return max((kill(paths, u, sig, who) for u in units), default=0)
    if verb in ("is-active", "is-enabled"):
        test = is_active if verb == "is-active" else (lambda p, u: p.wants(u).is_symlink())
        states = [test(paths, unit_name(u)) for u in units]
        if "quiet" not in options and "q" not in options:
            word = ("active", "inactive") if verb == "is-active" else ("enabled", "disabled")
            print("\n".join(word[0] if s else word[1] for s in states))
        return 0 if all(states) else 3
    print(f"systemctl {verb}: not emulated in the sandbox twin", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    words, options = _options(list(sys.argv[1:] if argv is None else argv))
    if not words:
        print("systemctl: a command is required", file=sys.stderr)
        return 1
    try:
        return run(Paths.from_environment(), words[0], words[1:], options)
    except UnitError as exc:
        print(f"Failed to {words[0]} {' '.join(words[1:])}: {exc}", file=sys.stderr)
        return 5


if __name__ == "__main__":
    raise SystemExit(main())
