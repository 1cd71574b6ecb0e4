"""The SSM Command document that drains a runner instance before it terminates.

The terminate-hook Lambda runs it with SendCommand, passing ``LifecycleActionToken``; the other
parameters default to the fleet's values. On the instance the script stops the runner with
SIGQUIT (jobs finish), heartbeats the lifecycle action while they run, unregisters this
instance's runner manager after the drain and completes the action with CONTINUE: the steps of
``runnerfleet.drain.step``, whose constants it is rendered with.
"""

from __future__ import annotations

from typing import Any

from runnerfleet.drain.types import ATTEMPTS, POLL_S, RETRY_S, SPOT_UNREGISTER_LEAD_S
from runnerfleet.scaling.lifecycle import GLOBAL_TIMEOUT_HEARTBEATS, MAX_GLOBAL_TIMEOUT_S
from runnerfleet.stack.instance_settings import DrainSettings, check_drain_settings
from runnerfleet.stack.shell import assign, fill, load_template, shared_lib

__all__ = [
    "DRAIN_STEP_NAME",
    "DrainSettings",
    "render_drain_document",
    "render_drain_script",
    "substitute_parameters",
]

DRAIN_STEP_NAME = "DrainRunner"  # GetCommandInvocation's PluginName
_MAX_EXECUTION_SECONDS = 172800  # aws:runShellScript's timeoutSeconds cap
_SCRIPT_EOF = "RUNNERFLEET_DRAIN"


def render_drain_script(settings: DrainSettings) -> str:
    """The drain script with ``{{ Parameter }}`` slots that SSM fills in."""
    check_drain_settings(settings)
    values = {
        "KILL_GRACE_SECONDS": settings.kill_grace_seconds,
        "POLL_SECONDS": int(POLL_S),
        "RETRY_SECONDS": int(RETRY_S),
        "ATTEMPTS": ATTEMPTS,
        "SPOT_UNREGISTER_LEAD_SECONDS": int(SPOT_UNREGISTER_LEAD_S),
        "MAX_GLOBAL_TIMEOUT_SECONDS": MAX_GLOBAL_TIMEOUT_S,
        "GLOBAL_TIMEOUT_HEARTBEATS": GLOBAL_TIMEOUT_HEARTBEATS,
    }
    block = "\n".join(assign(name, value) for name, value in values.items())
    return fill(load_template("drain.sh.tmpl"), {"SETTINGS": block, "LIB": shared_lib()})


def render_drain_document(settings: DrainSettings) -> dict[str, Any]:
    """The document content (schemaVersion 2.2, one aws:runShellScript step) as a dict."""
    script = render_drain_script(settings)
    # The agent may start runCommand with /bin/sh: a POSIX wrapper hands the script to bash.
    run_command = [
        'dir="${RUNNERFLEET_STATE_DIR:-${RUNNERFLEET_ROOT:-}/var/lib/runnerfleet}"',
        'mkdir -p "$dir"',
        f"cat >\"$dir/drain.sh\" <<'{_SCRIPT_EOF}'",
        *script.rstrip("\n").split("\n"),
        _SCRIPT_EOF,
        'exec bash "$dir/drain.sh"',
    ]
    return {
        "schemaVersion": "2.2",
        "description": "runnerfleet: drain the GitLab runner (jobs finish), unregister this "
        "instance's runner manager, then complete the terminate lifecycle action.",
        "parameters": _parameters(settings),
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": DRAIN_STEP_NAME,
                "inputs": {
                    "timeoutSeconds": str(_execution_timeout(settings)),
                    "runCommand": run_command,
                },
            }
        ],
    }


def substitute_parameters(document: dict[str, Any], values: dict[str, str]) -> str:
    """The shell text SSM would run for ``values`` (defaults fill the rest); for tests and docs."""
    params: dict[str, Any] = document["parameters"]
    merged = {name: str(spec.get("default", "")) for name, spec in params.items()}
    merged.update(values)
    text = "\n".join(document["mainSteps"][0]["inputs"]["runCommand"]) + "\n"
    for name, value in merged.items():
        text = text.replace("{{ " + name + " }}", value)
    return text


def _parameters(settings: DrainSettings) -> dict[str, dict[str, str]]:
    return {
        "LifecycleActionToken": {
            "type": "String",
            "description": "Token of the terminate lifecycle action (empty: use the instance id).",
            "default": "",
            "allowedPattern": "^([0-9a-fA-F-]{36})?$",
        },
        "LifecycleHookName": {
            "type": "String",
            "description": "Name of the terminate lifecycle hook.",
            "default": settings.terminate_hook_name,
            "allowedPattern": r"^[A-Za-z0-9_.\-/]{1,255}$",
        },
        "AutoScalingGroupName": {
            "type": "String",
            "description": "Name of the Auto Scaling group.",
            "default": settings.asg_name,
            "allowedPattern": r"^[A-Za-z0-9_.\-/:]{1,255}$",
        },
        "MaxDrainSeconds": {
            "type": "String",
            "description": "Longest wait for running jobs before they are aborted.",
            "default": str(settings.max_drain_seconds),
            "allowedPattern": "^[0-9]{1,6}$",
        },
        "HeartbeatSeconds": {
            "type": "String",
            "description": "Seconds between lifecycle heartbeats; below the hook's timeout.",
            "default": str(settings.heartbeat_seconds),
            "allowedPattern": "^[0-9]{1,4}$",
        },
        "HeartbeatTimeoutSeconds": {
            "type": "String",
            "description": "The hook's HeartbeatTimeout: without a heartbeat the action ends then.",
            "default": str(settings.heartbeat_timeout_seconds),
            "allowedPattern": "^[0-9]{2,4}$",
        },
    }


def _execution_timeout(settings: DrainSettings) -> int:
    if settings.execution_timeout_seconds is not None:
        return settings.execution_timeout_seconds
    wanted = settings.max_drain_seconds + settings.kill_grace_seconds + 600
    return min(wanted, _MAX_EXECUTION_SECONDS)
