"""Typed inputs of the scripts that run on a runner instance: bootstrap, drain, spot watch.

Frozen dataclasses, checked once (``check_*`` collect every problem, then raise one SpecError),
so that the renderers can trust every value they put into a shell script. Nothing here is a
secret: tokens are named by their SSM parameter, never carried by value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runnerfleet.drain.types import KILL_GRACE_S
from runnerfleet.errors import SpecError
from runnerfleet.scaling.lifecycle import MAX_GLOBAL_TIMEOUT_S, heartbeat_timeout_problem

DEFAULT_DOWNLOAD_URL = "https://gitlab-runner-downloads.s3.amazonaws.com/v{version}/binaries/gitlab-runner-linux-{arch}"
PULL_POLICIES = frozenset({"always", "if-not-present", "never"})
ARCHES = frozenset({"amd64", "arm64"})

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_SSM_NAME_RE = re.compile(r"^/?[A-Za-z0-9_.\-/]{1,1011}$")
_AWS_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-/:]{1,255}$")  # also the drain document's pattern
_HOOK_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-/]{1,255}$")
_LOG_GROUP_RE = re.compile(r"^[A-Za-z0-9_.\-/#]{1,512}$")
_SAFE_TEXT_RE = re.compile(r"^[^\x00-\x1f\x7f]*$")  # one line, printable
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
_ENV_NAME_RE = re.compile(r"^([a-z][a-z0-9-]{0,30})?$")  # goes into JSON unescaped
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_URL_RE = re.compile(r"^(https?|file)://\S+$")


@dataclass(frozen=True)
class DockerSettings:
    """The ``[runners.docker]`` section written by ``gitlab-runner register``."""

    image: str
    privileged: bool = False
    volumes: tuple[str, ...] = ("/cache",)
    pull_policy: tuple[str, ...] = ("if-not-present",)
    allowed_images: tuple[str, ...] = ()
    memory: str | None = None
    cpus: str | None = None


@dataclass(frozen=True)
class Registration:
    """One ``[[runners]]`` entry: a GitLab runner this instance registers a manager for.

    ``tags`` .. ``maximum_timeout`` are used only with a legacy registration token: a ``glrt-``
    token carries them in GitLab already and ``register`` refuses them.
    """

    name: str
    token_parameter: str
    limit: int = 0
    request_concurrency: int = 1
    docker: DockerSettings | None = None  # None: the fleet's default docker settings
    tags: tuple[str, ...] = ()
    run_untagged: bool = False
    locked: bool = True
    access_level: str = "not_protected"
    maximum_timeout: int | None = None


@dataclass(frozen=True)
class BootstrapSettings:
    """Everything the bootstrap script needs; the synthesis builds it from the FleetSpec."""

    stack_name: str
    gitlab_url: str
    runner_version: str
    runner_sha256: str
    docker: DockerSettings
    registrations: tuple[Registration, ...]
    asg_name: str
    bootstrap_log_group: str
    runner_log_group: str
    launch_hook_name: str | None = None
    concurrent: int = 4
    check_interval: int = 3
    shutdown_timeout: int = 30
    runner_arch: str = "amd64"
    download_url: str = DEFAULT_DOWNLOAD_URL
    region: str | None = None  # only a fallback for failure signals sent before IMDS answers
    signal_cloudformation: bool = False
    cfn_resource: str = "RunnerAutoScalingGroup"
    spot_watch: bool = False
    warm_pool: bool = False
    stop_on_rebalance: bool = True
    metric_namespace: str | None = None  # also where boot times go (none: not published)
    environment: str = ""  # the Environment dimension of the boot metrics

    @property
    def runner_url(self) -> str:
        return self.download_url.format(version=self.runner_version, arch=self.runner_arch)


@dataclass(frozen=True)
class DrainSettings:
    """Defaults of the drain document's parameters; the Lambda passes the action token."""

    asg_name: str
    terminate_hook_name: str
    max_drain_seconds: int = 10800
    heartbeat_seconds: int = 200
    heartbeat_timeout_seconds: int = 600
    kill_grace_seconds: int = KILL_GRACE_S
    execution_timeout_seconds: int | None = None  # default: max drain + grace + 10 min


def _check_docker(where: str, docker: DockerSettings, problems: list[str]) -> None:
    if not docker.image or not _SAFE_TEXT_RE.match(docker.image):
        problems.append(f"{where}.image: give a single-line image reference")
    bad = sorted(set(docker.pull_policy) - PULL_POLICIES)
    if bad or not docker.pull_policy:
        problems.append(f"{where}.pull_policy: use one or more of {sorted(PULL_POLICIES)}")
    for text in (*docker.volumes, *docker.allowed_images, docker.memory or "", docker.cpus or ""):
        if not _SAFE_TEXT_RE.match(text):
            problems.append(f"{where}: {text!r} holds a control character")


def _check_registration(reg: Registration, problems: list[str]) -> None:
    where = f"registrations[{reg.name}]"
    if not _NAME_RE.match(reg.name):
        problems.append(f"{where}.name: letters, digits, '-' and '_' only (max 63)")
    if not _SSM_NAME_RE.match(reg.token_parameter):
        problems.append(f"{where}.token_parameter: not an SSM parameter name")
    if reg.limit < 0 or reg.request_concurrency < 1:
        problems.append(f"{where}: limit must be >= 0 and request_concurrency >= 1")
    if reg.access_level not in ("not_protected", "ref_protected"):
        problems.append(f"{where}.access_level: not_protected or ref_protected")
    if any(not _SAFE_TEXT_RE.match(t) or "," in t for t in reg.tags):
        problems.append(f"{where}.tags: one line each, no commas")
    if reg.docker is not None:
        _check_docker(f"{where}.docker", reg.docker, problems)


def _check_runner(s: BootstrapSettings, problems: list[str]) -> None:
    if not _VERSION_RE.match(s.runner_version):
        problems.append("runner_version: give MAJOR.MINOR.PATCH, e.g. 17.11.1")
    if not _SHA256_RE.match(s.runner_sha256):
        problems.append("runner_sha256: give the 64 lower-case hex digits of the binary's SHA-256")
    if s.runner_arch not in ARCHES:
        problems.append(f"runner_arch: one of {sorted(ARCHES)}")
    if not _URL_RE.match(s.runner_url):
        problems.append("download_url: an http(s) URL with {version} and {arch}")
    if not _URL_RE.match(s.gitlab_url) or not _SAFE_TEXT_RE.match(s.gitlab_url):
        problems.append("gitlab_url: an https URL such as https://gitlab.example.com")
    if s.concurrent < 1 or s.check_interval < 1 or s.shutdown_timeout < 0:
        problems.append("concurrent and check_interval must be >= 1, shutdown_timeout >= 0")


def _check_names(s: BootstrapSettings, problems: list[str]) -> None:
    for label, value in (("stack_name", s.stack_name), ("asg_name", s.asg_name)):
        if not _AWS_NAME_RE.match(value):
            problems.append(f"{label}: {value!r} is not a valid name")
    if s.launch_hook_name is not None and not _HOOK_NAME_RE.match(s.launch_hook_name):
        problems.append("launch_hook_name: not a valid lifecycle hook name")
    if s.region is not None and not _AWS_NAME_RE.match(s.region):
        problems.append("region: not a region name")
    if not _ENV_NAME_RE.match(s.environment):
        problems.append("environment: lower-case letters, digits and '-' only (max 31)")
    groups = {"bootstrap_log_group": s.bootstrap_log_group, "runner_log_group": s.runner_log_group}
    if s.metric_namespace is not None:
        groups["metric_namespace"] = s.metric_namespace
    for label, value in groups.items():
        if not _LOG_GROUP_RE.match(value):
            problems.append(f"{label}: {value!r} is not a valid name")
    if not re.match(r"^[A-Za-z0-9]{1,255}$", s.cfn_resource):
        problems.append("cfn_resource: a CloudFormation logical id")


def check_bootstrap_settings(s: BootstrapSettings) -> None:
    """Raise one SpecError listing every problem of ``s``; return quietly when it is sound."""
    problems: list[str] = []
    _check_runner(s, problems)
    _check_docker("docker", s.docker, problems)
    if not s.registrations:
        problems.append("registrations: list at least one, or the runner never gets a job")
    names = [r.name for r in s.registrations]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"registrations: repeated names {', '.join(dupes)}")
    for reg in s.registrations:
        _check_registration(reg, problems)
    _check_names(s, problems)
    _raise(problems, "bootstrap settings")


def check_drain_settings(s: DrainSettings) -> None:
    problems: list[str] = []
    if not _AWS_NAME_RE.match(s.asg_name):
        problems.append(f"asg_name: {s.asg_name!r} is not a valid name")
    if not _HOOK_NAME_RE.match(s.terminate_hook_name):
        problems.append(f"terminate_hook_name: {s.terminate_hook_name!r} is not a valid name")
    if not 60 <= s.max_drain_seconds <= MAX_GLOBAL_TIMEOUT_S:
        problems.append(
            f"max_drain_seconds: between 60 and {MAX_GLOBAL_TIMEOUT_S} (the hook's global cap)"
        )
    timeout_problem = heartbeat_timeout_problem(s.heartbeat_timeout_seconds)
    if timeout_problem is not None:
        problems.append(f"heartbeat_timeout_seconds: {timeout_problem}")
    if not 10 <= s.heartbeat_seconds < s.heartbeat_timeout_seconds:
        problems.append("heartbeat_seconds: at least 10, below heartbeat_timeout_seconds")
    if s.kill_grace_seconds < 0:
        problems.append("kill_grace_seconds: >= 0")
    _raise(problems, "drain settings")


def _raise(problems: list[str], what: str) -> None:
    if problems:
        raise SpecError(
            f"invalid {what}",
            problems=problems,
            hint="fix these keys in the environment file, then render again",
        )
