"""Render the instance bootstrap script (user data / cfn-init) from BootstrapSettings.

Pure and deterministic: the same settings give the same bytes. The script embeds the spot and
warm-pool watchers, the config.toml global section and the CloudWatch agent configuration, so
one user-data document sets up the whole instance. See docs/instance.md for what it does.

Boot times are measured on the instance (``bootlib.sh``) and published as CloudWatch metrics
named here: ``BOOT_METRIC`` (launch to InService) and ``STEP_METRIC`` (per bootstrap step),
with the dimensions in ``BOOT_DIMENSIONS`` (plus ``Step`` on the step metric).
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable

from runnerfleet.errors import SpecError
from runnerfleet.stack.image_bake import IMAGE_MANIFEST
from runnerfleet.stack.instance_settings import (
    BootstrapSettings,
    DockerSettings,
    Registration,
    check_bootstrap_settings,
)
from runnerfleet.stack.shell import array, assign, fill, heredoc, load_template, quote, shared_lib

__all__ = [
    "BootstrapSettings",
    "DockerSettings",
    "Registration",
    "render_bootstrap",
    "render_cloudwatch_config",
    "render_config_head",
    "render_spot_watch",
    "render_user_data",
    "render_warm_watch",
]

BOOT_METRIC = "BootSeconds"
STEP_METRIC = "BootStepSeconds"
BOOT_DIMENSIONS = ("Environment", "ImageKind", "WarmStart")  # values: name, cold|baked, true|false
LOG_DIR = "/var/log/runnerfleet"
USER_DATA_LIMIT = 16384  # bytes EC2 accepts as raw user data
_PACKED_EOF = "RUNNERFLEET_BOOTSTRAP"


def render_bootstrap(settings: BootstrapSettings) -> str:
    """The bootstrap script for ``settings`` (validated first; SpecError lists every problem)."""
    check_bootstrap_settings(settings)
    return fill(
        load_template("bootstrap.sh.tmpl"),
        {
            "SETTINGS": _bootstrap_settings_block(settings),
            "LIB": shared_lib(),
            "BOOTLIB": boot_lib(),
            "REGISTRATIONS": _registrations_block(settings),
            "FILES": _files_block(settings),
        },
    )


def render_user_data(settings: BootstrapSettings) -> str:
    """EC2 user data: unpacks the bootstrap to /usr/local/sbin and runs it.

    The script travels gzip+base64 so that it stays far below the 16 KB user-data limit;
    gzip's mtime is pinned, so the bytes are still deterministic. The unpacked file is also
    what cfn-hup or an operator re-runs.
    """
    script = render_bootstrap(settings).encode()
    packed = base64.encodebytes(gzip.compress(script, compresslevel=9, mtime=0)).decode()
    body = (
        "#!/bin/bash\n"
        "# runnerfleet: unpack the instance bootstrap and run it (docs/instance.md).\n"
        "set -euo pipefail\n"
        'target="${RUNNERFLEET_ROOT:-}/usr/local/sbin/runnerfleet-bootstrap"\n'
        'mkdir -p "$(dirname "$target")"\n'
        f"base64 -d <<'{_PACKED_EOF}' | gunzip >\"$target\"\n"
        f"{packed}{_PACKED_EOF}\n"
        'chmod 0700 "$target"\n'
        'exec "$target"\n'
    )
    size = len(body.encode())
    if size > USER_DATA_LIMIT:
        raise SpecError(
            f"the instance user data would be {size} bytes, over EC2's {USER_DATA_LIMIT}",
            hint="split the registrations over two environment files (two fleets)",
        )
    return body


def render_spot_watch(settings: BootstrapSettings) -> str:
    """The spot-notice watcher installed as ``runnerfleet-spot-watch``."""
    lines = [
        assign("ASG_NAME", settings.asg_name),
        assign("METRIC_NAMESPACE", settings.metric_namespace),
        assign("STOP_ON_REBALANCE", settings.stop_on_rebalance),
    ]
    return fill(
        load_template("spot-watch.sh.tmpl"), {"SETTINGS": "\n".join(lines), "LIB": shared_lib()}
    )


def render_warm_watch(settings: BootstrapSettings) -> str:
    """The warm-pool watcher installed as ``runnerfleet-warm-watch``."""
    lines = [
        assign("ASG_NAME", settings.asg_name),
        assign("LAUNCH_HOOK", settings.launch_hook_name),
        *_boot_metric_settings(settings),
    ]
    return fill(
        load_template("warm-watch.sh.tmpl"),
        {"SETTINGS": "\n".join(lines), "LIB": shared_lib(), "BOOTLIB": boot_lib()},
    )


def boot_lib() -> str:
    """bootlib.sh (boot timing and metrics), for the bootstrap and the warm watch."""
    return load_template("bootlib.sh").rstrip("\n")


def _boot_metric_settings(s: BootstrapSettings) -> list[str]:
    return [
        assign("ENVIRONMENT", s.environment),
        assign("METRIC_NAMESPACE", s.metric_namespace),
        assign("BOOT_METRIC", BOOT_METRIC),
        assign("STEP_METRIC", STEP_METRIC),
        assign("IMAGE_MANIFEST_PATH", IMAGE_MANIFEST),
    ]


def render_config_head(settings: BootstrapSettings) -> str:
    """The global part of config.toml; ``gitlab-runner register`` appends the [[runners]]."""
    return (
        f"concurrent = {settings.concurrent}\n"
        f"check_interval = {settings.check_interval}\n"
        'listen_address = ":9252"\n'
        f"shutdown_timeout = {settings.shutdown_timeout}\n"
        'log_level = "info"\n'
        'log_format = "json"\n\n'
    )


def render_cloudwatch_config(settings: BootstrapSettings) -> str:
    """amazon-cloudwatch-agent configuration shipping our log files to CloudWatch Logs."""

    def entry(name: str, group: str, stream: str) -> dict[str, str]:
        return {
            "file_path": f"{LOG_DIR}/{name}.log",
            "log_group_name": group,
            "log_stream_name": stream,
            "timezone": "UTC",
        }

    boot = settings.bootstrap_log_group
    files = [
        entry("bootstrap", boot, "{instance_id}/bootstrap"),
        entry("drain", boot, "{instance_id}/drain"),
        entry("spot-watch", boot, "{instance_id}/spot-watch"),
        entry("warm-watch", boot, "{instance_id}/warm-watch"),
        entry("runner", settings.runner_log_group, "{instance_id}"),
    ]
    config = {"logs": {"logs_collected": {"files": {"collect_list": files}}}}
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def _bootstrap_settings_block(s: BootstrapSettings) -> str:
    values: list[tuple[str, str | int | bool | None]] = [
        ("STACK_NAME", s.stack_name),
        ("GITLAB_URL", s.gitlab_url),
        ("RUNNER_VERSION", s.runner_version),
        ("RUNNER_SHA256", s.runner_sha256),
        ("RUNNER_ARCH", s.runner_arch),
        ("RUNNER_URL", s.runner_url),
        ("ASG_NAME", s.asg_name),
        ("LAUNCH_HOOK", s.launch_hook_name),
        ("SIGNAL_CFN", s.signal_cloudformation),
        ("CFN_RESOURCE", s.cfn_resource),
        ("DEFAULT_REGION", s.region),
        ("SPOT_WATCH", s.spot_watch),
        ("WARM_POOL", s.warm_pool),
        ("REG_COUNT", len(s.registrations)),
    ]
    return "\n".join([*(assign(name, value) for name, value in values), *_boot_metric_settings(s)])


def _docker_args(d: DockerSettings) -> list[str]:
    args = ["--docker-image", d.image, f"--docker-privileged={quote(d.privileged)}"]
    for volume in d.volumes:
        args += ["--docker-volumes", volume]
    for policy in d.pull_policy:
        args += ["--docker-pull-policy", policy]
    for image in d.allowed_images:
        args += ["--docker-allowed-images", image]
    if d.memory:
        args += ["--docker-memory", d.memory]
    if d.cpus:
        args += ["--docker-cpus", d.cpus]
    return args


def _legacy_args(r: Registration) -> list[str]:
    args = [
        "--tag-list",
        ",".join(r.tags),
        f"--run-untagged={quote(r.run_untagged)}",
        f"--locked={quote(r.locked)}",
        f"--access-level={r.access_level}",
    ]
    if r.maximum_timeout:
        args.append(f"--maximum-timeout={r.maximum_timeout}")
    return args


def _registrations_block(s: BootstrapSettings) -> str:
    out = [
        "# load_registration N: sets REG_NAME, REG_PARAM, REG_ARGS and REG_LEGACY_ARGS.",
        "load_registration() {",
        "  case $1 in",
    ]
    for index, reg in enumerate(s.registrations, start=1):
        common = [
            *_docker_args(reg.docker or s.docker),
            f"--limit={reg.limit}",
            f"--request-concurrency={reg.request_concurrency}",
        ]
        out += [
            f"    {index})",
            f"      {assign('REG_NAME', reg.name)}",
            f"      {assign('REG_PARAM', reg.token_parameter)}",
            f"      {array('REG_ARGS', common)}",
            f"      {array('REG_LEGACY_ARGS', _legacy_args(reg))}",
            "      ;;",
        ]
    names = " | ".join(quote(r.name) for r in s.registrations)
    out += [
        '    *) fail "no registration number $1" ;;',
        "  esac",
        "}",
        "",
        "registration_known() {",
        "  case $1 in",
        f"    {names}) return 0 ;;",
        "    *) return 1 ;;",
        "  esac",
        "}",
    ]
    return "\n".join(out)


def _files_block(s: BootstrapSettings) -> str:
    parts = [
        _function(
            "write_cloudwatch_config",
            heredoc(
                'install_file 0644 "$CWAGENT_DIR/runnerfleet.json"',
                render_cloudwatch_config(s),
                "RUNNERFLEET_CW_CONFIG",
            ),
        ),
        _function(
            "write_config_head_body",
            heredoc("cat", render_config_head(s), "RUNNERFLEET_CONFIG_HEAD"),
        ),
        _script_writer(
            "write_spot_watch", "runnerfleet-spot-watch", s.spot_watch, lambda: render_spot_watch(s)
        ),
        _script_writer(
            "write_warm_watch", "runnerfleet-warm-watch", s.warm_pool, lambda: render_warm_watch(s)
        ),
    ]
    return "\n\n".join(parts)


def _function(name: str, body: str) -> str:
    return f"{name}() {{\n{body}\n}}"


def _script_writer(function: str, name: str, wanted: bool, render: Callable[[], str]) -> str:
    if not wanted:
        return _function(function, "  :")  # not embedded: keeps user data small
    body = heredoc(f'install_file 0755 "$BIN_DIR/{name}"', render(), "RUNNERFLEET_SCRIPT")
    return _function(function, body)
