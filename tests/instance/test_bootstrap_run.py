"""The rendered bootstrap, run under bash in a temporary root with stub commands and fake IMDS."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable

from runnerfleet.stack.bootstrap import BootstrapSettings, render_bootstrap, render_user_data
from runnerfleet.stack.system_id import system_id_for_instance
from tests.instance.harness import INSTANCE_ID, REGION, TOKEN_A, TOKEN_B, Instance

Settings = Callable[..., BootstrapSettings]


def _boot(instance: Instance, settings: BootstrapSettings, **env: str) -> str:
    result = instance.run(render_user_data(settings), **env)
    out = f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    for slip in ("command not found", "syntax error", "unbound variable", "No such file"):
        assert slip not in out, out  # strict mode must fail on purpose, never by accident
    return out


def test_first_boot_runs_the_steps_in_order(instance: Instance, settings_for: Settings) -> None:
    out = _boot(instance, settings_for())
    assert out.startswith("exit 0"), out
    order = [
        instance.index("dnf", "-y", "-q", "install", "amazon-cloudwatch-agent"),
        instance.index("amazon-cloudwatch-agent-ctl"),
        instance.index("dnf", "-y", "-q", "install", "docker"),
        instance.index("systemctl", "enable", "--now", "docker"),
        instance.index("gitlab-runner", "install"),
        instance.index("systemctl", "daemon-reload"),
        instance.index("aws", "ssm", "get-parameter"),
        instance.index("gitlab-runner", "register"),
        instance.index("gitlab-runner", "verify"),
        instance.index("systemctl", "start", "gitlab-runner"),
        instance.index("aws", "autoscaling", "complete-lifecycle-action"),
        instance.index("cfn-signal"),
    ]
    assert order == sorted(order), instance.names()
    complete = instance.find("aws", "autoscaling", "complete-lifecycle-action")
    assert len(complete) == 1 and "CONTINUE" in complete[0] and INSTANCE_ID in complete[0]
    (signal,) = instance.find("cfn-signal")
    assert signal[1:3] == ["-e", "0"] and REGION in signal and INSTANCE_ID in signal


def test_every_metadata_read_uses_an_imdsv2_token(
    instance: Instance, settings_for: Settings
) -> None:
    _boot(instance, settings_for())
    requests = instance.imds.requests
    assert requests[0][:2] == ("PUT", "/latest/api/token")
    assert all(ok for _, _, ok in requests), requests
    assert ("GET", "/latest/meta-data/placement/region", True) in requests


def test_config_toml_and_system_id(instance: Instance, settings_for: Settings) -> None:
    _boot(instance, settings_for())
    config = tomllib.loads(instance.path("/etc/gitlab-runner/config.toml").read_text())
    assert config["concurrent"] == 4 and config["check_interval"] == 3
    assert config["listen_address"] == ":9252" and config["log_format"] == "json"
    assert config["shutdown_timeout"] == 30
    assert [r["name"] for r in config["runners"]] == ["ci-a", "ci-b"]
    first = config["runners"][0]
    assert first["executor"] == "docker" and first["url"] == "https://gitlab.example.com"
    assert first["docker"]["image"] == "registry.gitlab.com/acme/job:2026.11"
    assert first["docker"]["volumes"] == ["/cache", "/var/run/docker.sock:/var/run/docker.sock"]
    assert first["docker"]["pull_policy"] == ["if-not-present"]
    assert first["docker"]["privileged"] is False
    assert config["runners"][1]["limit"] == 2
    system_id = instance.path("/etc/gitlab-runner/.runner_system_id").read_text()
    assert system_id == system_id_for_instance(INSTANCE_ID) == "r_234def567890"


def test_systemd_drop_in_waits_for_jobs(instance: Instance, settings_for: Settings) -> None:
    _boot(instance, settings_for())
    dropin = instance.path("/etc/systemd/system/gitlab-runner.service.d/kill.conf").read_text()
    assert "KillSignal=SIGQUIT" in dropin and "TimeoutStopSec=infinity" in dropin
    assert instance.path("/etc/systemd/system/runnerfleet-spot-watch.service").exists()
    assert instance.count("systemctl", "enable", "--now", "runnerfleet-spot-watch.service") == 1


def test_tokens_only_reach_register(instance: Instance, settings_for: Settings) -> None:
    settings = settings_for()
    out = _boot(instance, settings)
    registers = instance.find("gitlab-runner", "register")
    assert len(registers) == 2 and all("env:CI_SERVER_TOKEN" in c for c in registers)
    config = tomllib.loads(instance.path("/etc/gitlab-runner/config.toml").read_text())
    assert [r["token"] for r in config["runners"]] == [TOKEN_A, TOKEN_B]  # via the environment
    for token in (TOKEN_A, TOKEN_B):
        assert not [c for c in instance.calls() if any(token in arg for arg in c)]  # argv
        assert token not in render_user_data(settings) and token not in render_bootstrap(settings)
        assert token not in out
        assert token not in instance.path("/var/log/runnerfleet/bootstrap.log").read_text()
    assert all("--with-decryption" in c for c in instance.find("aws", "ssm", "get-parameter"))


def test_second_run_registers_nothing_and_signals_nothing(
    instance: Instance, settings_for: Settings
) -> None:
    settings = settings_for()
    assert _boot(instance, settings).startswith("exit 0")
    config_before = instance.path("/etc/gitlab-runner/config.toml").read_text()
    calls_before = len(instance.calls())
    out = _boot(instance, settings)  # what cfn-hup does on a stack update
    assert out.startswith("exit 0"), out
    again = instance.calls()[calls_before:]
    assert not [c for c in again if c[:2] == ["gitlab-runner", "register"]]
    assert not [c for c in again if c[:2] == ["aws", "ssm"]]
    assert not [c for c in again if c[0] == "cfn-signal" or "complete-lifecycle-action" in c]
    assert not [c for c in again if c[:2] == ["gitlab-runner", "install"]]
    assert instance.path("/etc/gitlab-runner/config.toml").read_text() == config_before
    assert "already registered" in out


def test_rerun_with_changed_settings_keeps_runners(
    instance: Instance, settings_for: Settings
) -> None:
    _boot(instance, settings_for())
    out = _boot(instance, settings_for(concurrent=8))
    assert out.startswith("exit 0"), out
    config = tomllib.loads(instance.path("/etc/gitlab-runner/config.toml").read_text())
    assert config["concurrent"] == 8 and len(config["runners"]) == 2
    assert instance.count("gitlab-runner", "register") == 2


def test_removed_registration_is_unregistered_on_rerun(
    instance: Instance, settings_for: Settings
) -> None:
    settings = settings_for()
    _boot(instance, settings)
    out = _boot(instance, settings_for(registrations=settings.registrations[:1]))
    assert out.startswith("exit 0"), out
    (unreg,) = instance.find("gitlab-runner", "unregister")
    assert unreg[unreg.index("--name") + 1] == "ci-b"


def test_injected_failure_sends_both_failure_signals(
    instance: Instance, settings_for: Settings
) -> None:
    out = _boot(instance, settings_for(), STUB_VERIFY_EXIT="1")
    assert out.startswith("exit 1"), out
    (signal,) = instance.find("cfn-signal")
    reason = signal[signal.index("--reason") + 1]
    assert (
        signal[1:3] == ["-e", "1"] and "step verify" in reason and "gitlab-runner verify" in reason
    )
    (abandon,) = instance.find("aws", "autoscaling", "complete-lifecycle-action")
    assert "ABANDON" in abandon
    assert instance.count("systemctl", "start", "gitlab-runner") == 0


def test_checksum_mismatch_fails_with_a_clear_reason(
    instance: Instance, settings_for: Settings
) -> None:
    out = _boot(instance, settings_for(runner_sha256="0" * 64))
    assert out.startswith("exit 1"), out
    (signal,) = instance.find("cfn-signal")
    reason = signal[signal.index("--reason") + 1]
    assert "checksum mismatch" in reason and "0" * 64 in reason
    assert not instance.path("/usr/local/bin/gitlab-runner").exists()
    assert instance.count("gitlab-runner", "register") == 0


def test_missing_token_parameter_names_it(instance: Instance, settings_for: Settings) -> None:
    (instance.stub_dir / "ssm" / "_runnerfleet_rf-dev_runners_ci-b").unlink()
    out = _boot(instance, settings_for())
    assert out.startswith("exit 1")
    (signal,) = instance.find("cfn-signal")
    reason = signal[signal.index("--reason") + 1]
    assert "/runnerfleet/rf-dev/runners/ci-b" in reason and "ParameterNotFound" in reason
    assert instance.count("gitlab-runner", "verify") == 0


def test_legacy_registration_token_warns_and_passes_tags(
    instance: Instance, settings_for: Settings
) -> None:
    instance.put_ssm("/runnerfleet/rf-dev/runners/ci-b", "GR1348941legacyLEGACY")
    out = _boot(instance, settings_for())
    assert out.startswith("exit 0"), out
    (legacy,) = [c for c in instance.find("gitlab-runner", "register") if "ci-b" in c]
    assert "env:REGISTRATION_TOKEN" in legacy and "--tag-list" in legacy
    assert "GR1348941legacyLEGACY" not in "\t".join(legacy)
    assert legacy[legacy.index("--tag-list") + 1] == "docker,linux"
    (modern,) = [c for c in instance.find("gitlab-runner", "register") if "ci-a" in c]
    assert "--tag-list" not in modern and "--locked=true" not in modern
    assert "legacy registration token" in out


def test_warm_pool_instance_stays_idle_until_in_service(
    instance: Instance, settings_for: Settings
) -> None:
    instance.imds.values["autoscaling/target-lifecycle-state"] = "Warmed:Stopped"
    out = _boot(instance, settings_for())
    assert out.startswith("exit 0"), out
    assert instance.count("systemctl", "start", "gitlab-runner") == 0
    assert instance.index("systemctl", "stop", "gitlab-runner") < instance.index(
        "aws", "autoscaling", "complete-lifecycle-action"
    )
    assert instance.count("systemctl", "enable", "runnerfleet-warm-watch.service") == 1
    assert instance.count("cfn-signal") == 0
    watch = instance.path("/usr/local/bin/runnerfleet-warm-watch").read_text()
    instance.imds.values["autoscaling/target-lifecycle-state"] = "InService"
    result = instance.run(watch, RUNNERFLEET_WARM_MAX_POLLS="3", RUNNERFLEET_WARM_POLL_SECONDS="0")
    assert result.returncode == 0, result.stderr
    start = instance.index("systemctl", "start", "gitlab-runner")
    verify = max(i for i, c in enumerate(instance.calls()) if c[:2] == ["gitlab-runner", "verify"])
    completes = instance.find("aws", "autoscaling", "complete-lifecycle-action")
    assert start < verify and len(completes) == 2 and "CONTINUE" in completes[-1]


def test_without_hook_or_signal_nothing_is_signalled(
    instance: Instance, settings_for: Settings
) -> None:
    settings = settings_for(launch_hook_name=None, signal_cloudformation=False, spot_watch=False)
    out = _boot(instance, settings)
    assert out.startswith("exit 0"), out
    assert instance.count("cfn-signal") == 0
    assert instance.count("aws", "autoscaling") == 0
    assert instance.count("systemctl", "enable", "--now", "runnerfleet-spot-watch.service") == 0
    assert instance.count("systemctl", "start", "gitlab-runner") == 1


def test_logs_ship_to_the_stack_log_groups(instance: Instance, settings_for: Settings) -> None:
    _boot(instance, settings_for())
    config = json.loads(
        instance.path("/opt/aws/amazon-cloudwatch-agent/etc/runnerfleet.json").read_text()
    )
    files = {
        f["file_path"]: (f["log_group_name"], f["log_stream_name"])
        for f in config["logs"]["logs_collected"]["files"]["collect_list"]
    }
    boot, runner = "/runnerfleet/rf-dev/bootstrap", "/runnerfleet/rf-dev/runner"
    assert files["/var/log/runnerfleet/bootstrap.log"] == (boot, "{instance_id}/bootstrap")
    assert files["/var/log/runnerfleet/drain.log"] == (boot, "{instance_id}/drain")
    assert files["/var/log/runnerfleet/runner.log"] == (runner, "{instance_id}")
    (ctl,) = instance.find("amazon-cloudwatch-agent-ctl")
    assert ctl[1:4] == ["-a", "fetch-config", "-m"] and ctl[-1].endswith("/runnerfleet.json")
    logging = instance.path("/etc/systemd/system/gitlab-runner.service.d/logging.conf")
    assert "StandardOutput=append:" in logging.read_text()


def test_spot_notice_during_boot_keeps_the_runner_stopped(
    instance: Instance, settings_for: Settings
) -> None:
    instance.path("/var/lib/runnerfleet").mkdir(parents=True)
    instance.path("/var/lib/runnerfleet/interruption-notice").touch()
    out = _boot(instance, settings_for())
    assert out.startswith("exit 0") and "the runner stays stopped" in out, out
    assert instance.count("systemctl", "start", "gitlab-runner") == 0
