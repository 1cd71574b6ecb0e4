"""``gitlab-runner`` on a twin instance: the subset of its CLI the project's scripts use.

    gitlab-runner register --non-interactive --config C --url U --name N --executor docker ...
    gitlab-runner verify --config C [--delete]
    gitlab-runner unregister --config C (--name N | --all-runners)
    gitlab-runner install --user U --working-directory D --config C
    gitlab-runner run --config C [--listen-address A]

Tokens come as gitlab-runner takes them: ``CI_SERVER_TOKEN`` / ``REGISTRATION_TOKEN`` in the
environment (or ``--token`` / ``--registration-token``). The same HTTP calls as the real
runner: ``POST /runners/verify`` (``glrt-`` tokens, with the system_id from
``.runner_system_id``), ``POST /runners`` (legacy registration tokens), ``DELETE
/runners/managers`` and ``DELETE /runners``. ``run`` is the agent: SIGQUIT = finish running
jobs and take no new ones, SIGTERM/SIGINT = abort them (reported failed). Everything else
answers with a message that it is not emulated. Loopback only (runnerfleet.sandbox.twin.loopback).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import httpx

from runnerfleet.sandbox import agent_config
from runnerfleet.sandbox.agent import VERSION, AgentConfig, RunnerAgent, agent_info
from runnerfleet.sandbox.agent_args import ArgError, Flags, parse_flags
from runnerfleet.sandbox.agent_config import AgentFile, RunnerEntry
from runnerfleet.sandbox.clock import SimClock
from runnerfleet.sandbox.twin import loopback

METRICS_PORT = 9252
LEGACY_ONLY = ("tag-list", "run-untagged", "locked", "access-level", "maximum-timeout", "paused")


class RunnerCliError(Exception):
    """A failure gitlab-runner would report with FATAL and exit status 1."""


def log(level: str, message: str) -> None:
    print(f"{level}: {message}", file=sys.stderr, flush=True)


def _config_path(flags: Flags) -> Path:
    value = flags.one("config") or os.environ.get("CONFIG_FILE")
    if not value:
        raise RunnerCliError("--config is required in the sandbox (no default config path)")
    return Path(value)


def _client(url: str) -> httpx.Client:
    host = urlsplit(url).hostname or ""
    try:
        loopback.check_host(host)
    except loopback.NonLoopbackRefused as exc:
        raise RunnerCliError(
            f"{exc}: the GitLab URL {url} is not the sandbox's GitLab stand-in; "
            "deploy with --sandbox so that runner.gitlab_url points at it"
        ) from exc
    address = os.environ.get("RUNNERFLEET_INSTANCE_ADDRESS", "127.0.0.1")
    return httpx.Client(
        base_url=url.rstrip("/") + "/api/v4",
        timeout=10,
        trust_env=False,
        transport=httpx.HTTPTransport(local_address=address),
    )


def _call(url: str, method: str, path: str, body: dict[str, object]) -> httpx.Response:
    with _client(url) as client:
        try:
            return client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise RunnerCliError(f"GitLab at {url} is unreachable: {exc}") from exc


# ---- register ----


def register(flags: Flags) -> None:
    path = _config_path(flags)
    url = flags.one("url") or os.environ.get("CI_SERVER_URL") or ""
    name = flags.one("name") or os.environ.get("RUNNER_NAME") or ""
    if not url or not name:
        raise RunnerCliError("--url and --name are required with --non-interactive")
    token = flags.one("token") or os.environ.get("CI_SERVER_TOKEN") or ""
    legacy = flags.one("registration-token") or os.environ.get("REGISTRATION_TOKEN") or ""
    config = agent_config.read(path)
    if token:
        if token.startswith("glrt-") and any(flags.given(f) for f in LEGACY_ONLY):
            raise RunnerCliError(
                "Runner configuration other than name and executor configuration is reserved "
                "(specifically --locked, --access-level, --run-untagged, --maximum-timeout, "
                "--paused, --tag-list, and --maintenance-note) and can not be specified when "
                "registering with a runner authentication token"
            )
        runner_id = _verify_token(url, token, path)
    elif legacy.startswith("glrt-"):  # the legacy-compatible process: flags are ignored
        token, runner_id = legacy, _verify_token(url, legacy, path)
    elif legacy:
        token, runner_id = _legacy_register(url, legacy, name, flags)
    else:
        raise RunnerCliError("a runner token is required (--token or CI_SERVER_TOKEN)")
    entry = RunnerEntry(
        name=name, url=url, token=token, id=runner_id,
        executor=flags.one("executor") or "docker",
        limit=flags.integer("limit", 0),
        request_concurrency=max(1, flags.integer("request-concurrency", 1)),
        docker=_docker_section(flags),
    )  # fmt: skip
    agent_config.write(path, agent_config.with_runners(config, (*config.runners, entry)))
    log("Runner registered successfully", f"runner={_short(token)}")


def _system_id(path: Path) -> str:
    system_id = agent_config.system_id(path)
    if system_id is None:
        raise RunnerCliError(f"{path.parent / '.runner_system_id'} is missing")
    return system_id


def _verify_token(url: str, token: str, path: Path) -> int:
    body: dict[str, object] = {"token": token, "system_id": _system_id(path), "info": agent_info()}
    response = _call(url, "POST", "/runners/verify", body)
    if response.status_code != 200:
        raise RunnerCliError(
            f"Verifying runner... is not valid (status {response.status_code}) "
            f"runner={_short(token)}"
        )
    return int(response.json().get("id", 0))


def _legacy_register(url: str, token: str, name: str, flags: Flags) -> tuple[str, int]:
    log("WARNING", "Support for registration tokens and runner parameters in the 'register' "
        "command has been deprecated in GitLab Runner 15.6")  # fmt: skip
    body: dict[str, object] = {
        "token": token,
        "description": name,
        "tag_list": flags.one("tag-list") or "",
        "run_untagged": flags.boolean("run-untagged", False),
        "locked": flags.boolean("locked", True),
        "access_level": flags.one("access-level") or "not_protected",
        "paused": flags.boolean("paused", False),
        "info": agent_info(),
    }
    if flags.given("maximum-timeout"):
        body["maximum_timeout"] = flags.integer("maximum-timeout", 0)
    response = _call(url, "POST", "/runners", body)
    if response.status_code != 201:
        raise RunnerCliError(f"Registering runner... failed (status {response.status_code})")
    created = response.json()
    return str(created["token"]), int(created["id"])


def _docker_section(flags: Flags) -> dict[str, object]:
    section: dict[str, object] = {
        "image": flags.one("docker-image") or "",
        "privileged": flags.boolean("docker-privileged", False),
        "volumes": flags.many("docker-volumes"),
        "pull_policy": flags.many("docker-pull-policy"),
    }
    for flag, key in (("docker-allowed-images", "allowed_images"),):
        if flags.given(flag):
            section[key] = flags.many(flag)
    for flag, key in (("docker-memory", "memory"), ("docker-cpus", "cpus")):
        if flags.given(flag):
            section[key] = flags.one(flag) or ""
    return section


def _short(token: str) -> str:
    return token.removeprefix("glrt-").removeprefix("t1_").removeprefix("t2_")[:9]


# ---- verify / unregister ----


def verify(flags: Flags) -> None:
    path = _config_path(flags)
    config = agent_config.read(path)
    kept, refused = [], []
    for entry in config.runners:
        if flags.given("name") and entry.name != flags.one("name"):
            kept.append(entry)
            continue
        try:
            _verify_token(entry.url, entry.token, path)
            log("Verifying runner... is valid", f"runner={_short(entry.token)}")
            kept.append(entry)
        except RunnerCliError as exc:
            log("ERROR", str(exc))
            refused.append(entry)
    if refused and flags.boolean("delete", False):
        agent_config.write(path, agent_config.with_runners(config, tuple(kept)))
    elif refused:
        raise RunnerCliError(f"{len(refused)} runner(s) failed verification")


def unregister(flags: Flags) -> None:
    path = _config_path(flags)
    config = agent_config.read(path)
    everything = flags.boolean("all-runners", False)
    chosen = [r for r in config.runners if everything or r.name == flags.one("name")]
    if not chosen and not everything:
        raise RunnerCliError(f"no runner named {flags.one('name')!r} in {path}")
    gone = {id(r) for r in chosen if _unregister_one(r, path)}
    remaining = tuple(r for r in config.runners if id(r) not in gone)
    agent_config.write(path, agent_config.with_runners(config, remaining))
    if len(gone) < len(chosen):
        log("ERROR", "Failed to unregister runners")
        if not everything:  # --all-runners exits 0 even then, as gitlab-runner does
            raise RunnerCliError("Failed to unregister runner")


def _unregister_one(entry: RunnerEntry, path: Path) -> bool:
    if entry.token.startswith("glrt-"):
        body: dict[str, object] = {"token": entry.token, "system_id": _system_id(path)}
        response = _call(entry.url, "DELETE", "/runners/managers", body)
    else:
        response = _call(entry.url, "DELETE", "/runners", {"token": entry.token})
    ok = response.status_code == 204
    log("Unregistering runner from GitLab" + (" succeeded" if ok else " failed"),
        f"runner={_short(entry.token)} status={response.status_code}")  # fmt: skip
    return ok


# ---- install ----


def unit_text(binary: str, config: str, working_directory: str, user: str) -> str:
    """The systemd unit ``gitlab-runner install`` writes (kardianos/service's template)."""
    exec_start = " ".join(
        f'"{arg}"'
        for arg in (
            "run", "--config", config, "--working-directory", working_directory,
            "--service", "gitlab-runner", "--user", user,
        )
    )  # fmt: skip
    return (
        "[Unit]\nDescription=GitLab Runner\n"
        f"ConditionFileIsExecutable={binary}\n"
        "After=syslog.target network.target\n\n"
        "[Service]\nStartLimitInterval=5\nStartLimitBurst=10\n"
        f"ExecStart={binary} {exec_start}\n"
        "Restart=always\nRestartSec=120\n"
        "EnvironmentFile=-/etc/sysconfig/gitlab-runner\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def install(flags: Flags) -> None:
    root = os.environ.get("RUNNERFLEET_ROOT", "")
    systemd = Path(os.environ.get("RUNNERFLEET_SYSTEMD_DIR") or f"{root}/etc/systemd/system")
    binary = os.environ.get("RUNNERFLEET_AGENT_ARGV0") or sys.argv[0]
    text = unit_text(
        binary,
        str(_config_path(flags)),
        flags.one("working-directory") or "/home/gitlab-runner",
        flags.one("user") or "gitlab-runner",
    )
    systemd.mkdir(parents=True, exist_ok=True)
    (systemd / f"{flags.one('service') or 'gitlab-runner'}.service").write_text(text)


# ---- run ----


def agent_settings(config: AgentFile, path: Path, listen: str | None) -> AgentConfig:
    if config.concurrent <= 0:
        raise RunnerCliError("Concurrent is less than 1, no jobs will be processed")
    if not config.runners:
        raise RunnerCliError(f"no [[runners]] in {path}: nothing to run")
    host, _, port = (listen or config.listen_address).rpartition(":")
    address = os.environ.get("RUNNERFLEET_INSTANCE_ADDRESS", "127.0.0.1")
    return AgentConfig(
        instance_id=os.environ.get("RUNNERFLEET_TWIN_INSTANCE", ""),
        address=address if host in ("", "0.0.0.0", "[::]") else host,  # noqa: S104
        gitlab_url=config.runners[0].url,
        tokens=tuple((r.name, r.token) for r in config.runners),
        concurrent=config.concurrent,
        check_interval=config.check_interval,
        port=int(port) if port else METRICS_PORT,
        stored_system_id=_system_id(path),
        limits=tuple(r.limit for r in config.runners),
    )


def run(flags: Flags) -> None:
    path = _config_path(flags)
    config = agent_config.read(path)
    settings = agent_settings(config, path, flags.one("listen-address"))
    agent = RunnerAgent(settings, SimClock(speed=1.0))
    stop = _Stop()
    stop.install()
    agent.start()
    log("Starting multi-runner", f"builds={config.concurrent} system_id={settings.system_id}")
    stop.wait()
    if stop.signal == signal.SIGQUIT:
        log("Starting graceful shutdown, waiting for builds to finish", f"jobs={agent.running}")
        agent.stop_accepting()
        _wait_until(lambda: agent.running == 0 or stop.forced.is_set(), timeout_s=None)
    if stop.signal != signal.SIGQUIT or stop.forced.is_set():
        log("Starting forceful shutdown", f"jobs={agent.running}")
        agent.abort()
        _wait_until(lambda: agent.running == 0, timeout_s=config.shutdown_timeout)
    agent.shutdown()
    log("All workers stopped.", "Can exit now")


def _wait_until(done: Callable[[], bool], timeout_s: float | None) -> None:
    waited = 0.0
    while not done() and (timeout_s is None or waited < timeout_s):
        threading.Event().wait(0.2)
        waited += 0.2


class _Stop:
    """The first stop signal; a SIGTERM/SIGINT after SIGQUIT turns the stop forceful."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.forced = threading.Event()
        self._first = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is None:
            self.signal = signum
            self._first.set()
        elif signum != signal.SIGQUIT:
            self.forced.set()

    def wait(self) -> None:
        while not self._first.wait(1.0):
            pass


COMMANDS: dict[str, Callable[[Flags], None]] = {
    "register": register,
    "verify": verify,
    "unregister": unregister,
    "install": install,
    "run": run,
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("--version", "-v", "version"):
        print(f"Version:      {VERSION}\nGit revision: sandbox\nOS/Arch:      linux/amd64")
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        log("FATAL", f"gitlab-runner {args[0]!r} is not emulated in the sandbox "
            f"(emulated: {', '.join(COMMANDS)})")  # fmt: skip
        return 1
    loopback.install()
    try:
        command(parse_flags(args[0], args[1:]))
    except (ArgError, RunnerCliError, OSError, ValueError) as exc:
        log("FATAL", str(exc))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
