"""The image bake and the bootstrap's fast path, run under bash like an instance would run them.

An instance is baked first (the component's script, in the pretend root with stub commands),
then booted from that root: every install step must find its work done and skip it, while the
runner binary's checksum and the registration are still checked. Boot times reach CloudWatch.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runnerfleet.stack.bootstrap import (
    BOOT_METRIC,
    STEP_METRIC,
    BootstrapSettings,
    render_user_data,
)
from runnerfleet.stack.image_bake import IMAGE_MANIFEST, BakeSettings, render_bake_script
from tests.instance.harness import Instance, assert_shellcheck_clean, machine_arch, runner_download

Settings = Callable[..., BootstrapSettings]
STEPS = [
    "metadata",
    "logging",
    "docker",
    "runner-binary",
    "runner-service",
    "register",
    "verify",
    "start",
    "signal",
]
JOB_IMAGE = "registry.gitlab.com/acme/job:2026.11"
IDENTITY = "/latest/dynamic/instance-identity/document"


@pytest.fixture
def bake_settings(tmp_path: Path) -> BakeSettings:
    url, digest = runner_download(tmp_path)
    return BakeSettings(
        image_name="runner",
        runner_version="17.11.1",
        runner_sha256=digest,
        docker=True,
        agents=("cloudwatch", "ssm"),
        pre_pull=(JOB_IMAGE,),
        os_patches=True,
        runner_arch=machine_arch(),
        download_url=url,
    )


def _run(instance: Instance, script: str, *args: str, **env: str) -> str:
    path = instance.stub_dir / "under-test.sh"
    path.write_text(script)
    result = subprocess.run(
        ["bash", str(path), *args],
        env={**instance.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    for slip in ("command not found", "syntax error", "unbound variable", "No such file"):
        assert slip not in out, out
    return out


def _bake(instance: Instance, settings: BakeSettings) -> str:
    out = _run(instance, render_bake_script(settings), "bake")
    assert out.startswith("exit 0"), out
    return out


def _boot(instance: Instance, settings: BootstrapSettings, *, launched_s_ago: int = 40) -> str:
    pending = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - launched_s_ago))
    document = {"instanceId": "i-0abc1234def567890", "pendingTime": pending}
    instance.imds.values[IDENTITY] = json.dumps(document, indent=2)
    return _run(instance, render_user_data(settings))


def _since(instance: Instance, mark: int) -> list[list[str]]:
    return instance.calls()[mark:]


def _metrics(instance: Instance) -> list[dict[str, object]]:
    calls = instance.find("aws", "cloudwatch", "put-metric-data")
    data: list[dict[str, object]] = []
    for call in calls:
        data += json.loads(call[call.index("--metric-data") + 1])
    return data


def _dims(metric: dict[str, object]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in metric["Dimensions"]}  # type: ignore[attr-defined, index]


def test_bake_installs_pulls_and_writes_the_manifest(
    instance: Instance, bake_settings: BakeSettings
) -> None:
    out = _bake(instance, bake_settings)
    assert instance.count("dnf", "-y", "-q", "upgrade", "--releasever=latest") == 1
    (install,) = instance.find("dnf", "-y", "-q", "install")
    assert install[4:] == ["docker", "amazon-cloudwatch-agent", "amazon-ssm-agent"]
    assert instance.count("systemctl", "enable", "docker") == 1
    assert instance.count("systemctl", "enable", "amazon-ssm-agent") == 1
    assert instance.find("docker", "pull") == [["docker", "pull", "--quiet", JOB_IMAGE]]
    manifest = instance.path(IMAGE_MANIFEST).read_text()
    assert "IMAGE_KIND=baked\n" in manifest and "IMAGE_NAME=runner\n" in manifest
    assert f"RUNNER_SHA256={bake_settings.runner_sha256}\n" in manifest
    assert instance.path("/usr/local/bin/gitlab-runner").stat().st_mode & 0o777 == 0o755
    assert "sha256 verified" in out
    check = _run(instance, render_bake_script(bake_settings), "check")
    assert check.startswith("exit 0") and "image check passed" in check, check


def test_bake_refuses_a_binary_that_is_not_the_pinned_one(
    instance: Instance, bake_settings: BakeSettings
) -> None:
    out = _run(
        instance,
        render_bake_script(dataclasses.replace(bake_settings, runner_sha256="1" * 64)),
        "bake",
    )
    assert out.startswith("exit 1") and "checksum mismatch" in out, out
    assert not instance.path("/usr/local/bin/gitlab-runner").exists()
    assert not instance.path(IMAGE_MANIFEST).exists()


def test_image_check_fails_when_a_job_image_is_missing(
    instance: Instance, bake_settings: BakeSettings
) -> None:
    _bake(instance, bake_settings)
    (instance.stub_dir / "docker-images").write_text("")
    out = _run(instance, render_bake_script(bake_settings), "check")
    assert out.startswith("exit 1") and f"job image {JOB_IMAGE} was not pre-pulled" in out


def test_baked_instance_skips_every_install_and_still_verifies(
    instance: Instance, bake_settings: BakeSettings, settings_for: Settings
) -> None:
    _bake(instance, bake_settings)
    binary = instance.path("/usr/local/bin/gitlab-runner")
    baked_inode = binary.stat().st_ino
    mark = len(instance.calls())
    out = _boot(instance, settings_for(runner_sha256=bake_settings.runner_sha256))
    assert out.startswith("exit 0"), out
    boot = [" ".join(c[:2]) for c in _since(instance, mark)]
    assert "dnf -y" not in boot  # no package install
    assert "docker pull" not in boot  # job images are in the image
    assert binary.stat().st_ino == baked_inode  # the baked binary, not a new download
    assert "gitlab-runner 17.11.1 already installed (sha256 verified)" in out
    assert "image kind: baked" in out
    assert "docker is installed already" in out and "amazon-cloudwatch-agent is installed" in out
    ran = [
        line.split("step: ")[1]
        for line in out.splitlines()
        if "runnerfleet-bootstrap: step:" in line
    ]
    assert ran == STEPS
    for call in (["gitlab-runner", "register"], ["gitlab-runner", "verify"]):
        assert call[:2] in [c[:2] for c in _since(instance, mark)], boot
    assert instance.count("systemctl", "start", "gitlab-runner") == 1


def test_a_tampered_baked_binary_is_replaced_by_the_verified_download(
    instance: Instance, bake_settings: BakeSettings, settings_for: Settings
) -> None:
    _bake(instance, bake_settings)
    binary = instance.path("/usr/local/bin/gitlab-runner")
    binary.write_text(binary.read_text() + "\n# changed after the bake\n")
    out = _boot(instance, settings_for(runner_sha256=bake_settings.runner_sha256))
    assert out.startswith("exit 0"), out
    assert "installed gitlab-runner 17.11.1 (sha256 verified)" in out


def test_boot_metrics_of_a_baked_instance(
    instance: Instance, bake_settings: BakeSettings, settings_for: Settings
) -> None:
    _bake(instance, bake_settings)
    settings = settings_for(runner_sha256=bake_settings.runner_sha256, environment="dev")
    out = _boot(instance, settings, launched_s_ago=42)
    assert out.startswith("exit 0"), out
    metrics = _metrics(instance)
    steps = [m for m in metrics if m["MetricName"] == STEP_METRIC]
    assert [_dims(m)["Step"] for m in steps] == STEPS
    (total,) = [m for m in metrics if m["MetricName"] == BOOT_METRIC]
    assert _dims(total) == {"Environment": "dev", "ImageKind": "baked", "WarmStart": "false"}
    assert total["Unit"] == "Seconds" and 42 <= float(total["Value"]) < 120  # type: ignore[arg-type]
    assert all(_dims(m)["ImageKind"] == "baked" for m in steps)
    (call,) = instance.find("aws", "cloudwatch", "put-metric-data")
    assert call[call.index("--namespace") + 1] == "Runnerfleet"
    assert "from launch to in service (baked image, warm start false)" in out


def test_cold_boot_is_measured_as_cold_and_a_rerun_is_not_a_boot(
    instance: Instance, settings_for: Settings
) -> None:
    settings = settings_for(environment="dev")
    assert _boot(instance, settings).startswith("exit 0")
    (total,) = [m for m in _metrics(instance) if m["MetricName"] == BOOT_METRIC]
    assert _dims(total)["ImageKind"] == "cold"
    assert instance.count("dnf", "-y", "-q", "install", "docker") == 1
    assert _boot(instance, settings).startswith("exit 0")  # what cfn-hup does
    assert instance.count("aws", "cloudwatch", "put-metric-data") == 1
    assert instance.count("dnf", "-y", "-q", "install", "docker") == 1  # found installed


def test_warm_pool_boot_reports_steps_then_the_warm_start(
    instance: Instance, bake_settings: BakeSettings, settings_for: Settings
) -> None:
    _bake(instance, bake_settings)
    instance.imds.values["autoscaling/target-lifecycle-state"] = "Warmed:Stopped"
    settings = settings_for(runner_sha256=bake_settings.runner_sha256, environment="dev")
    assert _boot(instance, settings).startswith("exit 0")
    assert BOOT_METRIC not in [m["MetricName"] for m in _metrics(instance)]  # parked, not in
    watch = instance.path("/usr/local/bin/runnerfleet-warm-watch").read_text()
    instance.imds.values["autoscaling/target-lifecycle-state"] = "InService"
    out = _run(instance, watch, RUNNERFLEET_WARM_MAX_POLLS="2", RUNNERFLEET_WARM_POLL_SECONDS="0")
    assert out.startswith("exit 0"), out
    (total,) = [m for m in _metrics(instance) if m["MetricName"] == BOOT_METRIC]
    assert _dims(total) == {"Environment": "dev", "ImageKind": "baked", "WarmStart": "true"}


def test_no_namespace_no_metrics(instance: Instance, settings_for: Settings) -> None:
    assert _boot(instance, settings_for(metric_namespace=None)).startswith("exit 0")
    assert instance.count("aws", "cloudwatch") == 0


def test_bake_script_is_shellcheck_clean(bake_settings: BakeSettings, tmp_path: Path) -> None:
    bare = dataclasses.replace(bake_settings, docker=False, agents=(), pre_pull=())
    files = []
    for label, settings in {"full": bake_settings, "bare": bare}.items():
        path = tmp_path / f"{label}-image-bake.sh"
        path.write_text(render_bake_script(settings))
        files.append(str(path))
    assert_shellcheck_clean(files)
