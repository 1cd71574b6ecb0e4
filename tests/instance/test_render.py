"""Rendering: deterministic bytes, shellcheck-clean scripts, validated settings."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from runnerfleet.errors import SpecError
from runnerfleet.stack.bootstrap import (
    USER_DATA_LIMIT,
    BootstrapSettings,
    DockerSettings,
    Registration,
    render_bootstrap,
    render_spot_watch,
    render_user_data,
    render_warm_watch,
)
from runnerfleet.stack.drain_document import (
    DrainSettings,
    render_drain_document,
    render_drain_script,
    substitute_parameters,
)
from runnerfleet.stack.system_id import SYSTEM_ID_RE, matches_instance, system_id_for_instance
from tests.instance.harness import assert_shellcheck_clean

Settings = Callable[..., BootstrapSettings]
DRAIN = DrainSettings(asg_name="rf-dev-asg", terminate_hook_name="rf-dev-term")


def _scripts(settings: BootstrapSettings) -> dict[str, str]:
    return {
        "bootstrap.sh": render_bootstrap(settings),
        "user-data.sh": render_user_data(settings),
        "spot-watch.sh": render_spot_watch(settings),
        "warm-watch.sh": render_warm_watch(settings),
        "drain.sh": render_drain_script(DRAIN),
        "drain-document.sh": substitute_parameters(render_drain_document(DRAIN), {}),
    }


def test_rendering_is_deterministic(settings_for: Settings) -> None:
    assert _scripts(settings_for()) == _scripts(settings_for())
    assert render_user_data(settings_for()) != render_user_data(settings_for(concurrent=9))


def test_rendered_scripts_are_shellcheck_clean(settings_for: Settings, tmp_path: Path) -> None:
    variants = {"full": settings_for(), "plain": settings_for(spot_watch=False, warm_pool=False)}
    files = []
    for label, settings in variants.items():
        for name, text in _scripts(settings).items():
            path = tmp_path / f"{label}-{name}"
            path.write_text(text)
            files.append(str(path))
    assert_shellcheck_clean(files)


def test_user_data_fits_and_unpacks_to_the_bootstrap(
    settings_for: Settings, tmp_path: Path
) -> None:
    settings = settings_for()
    user_data = render_user_data(settings)
    assert len(user_data.encode()) < USER_DATA_LIMIT * 3 // 4  # room to grow
    env = {"PATH": "/usr/bin:/bin", "RUNNERFLEET_ROOT": str(tmp_path)}
    script = user_data.replace('exec "$target"', "exit 0")
    subprocess.run(["bash", "-c", script], env=env, check=True)
    unpacked = tmp_path / "usr/local/sbin/runnerfleet-bootstrap"
    assert unpacked.read_text() == render_bootstrap(settings)
    assert unpacked.stat().st_mode & 0o777 == 0o700


def test_strict_mode_and_no_tracing(settings_for: Settings) -> None:
    for name, text in _scripts(settings_for()).items():
        body = text.split("\n", 10)
        assert any(line.startswith("set -Eeuo pipefail") for line in body) or name.endswith(
            ("user-data.sh", "document.sh")
        ), name
        tracing = re.compile(r"^\s*(set -[A-Za-z]*x|.*bash -x)")
        assert not [line for line in text.splitlines() if tracing.match(line)], name


def test_metadata_is_never_read_without_a_token(settings_for: Settings) -> None:
    for name, text in _scripts(settings_for()).items():
        for line in text.splitlines():
            if "169.254.169.254" in line:
                assert line.strip().startswith("IMDS_URL="), (name, line)
            if "curl" in line and "$IMDS_URL/latest/meta-data" in line:
                pytest.fail(f"{name}: metadata read on a line without the token header: {line}")


def test_settings_problems_are_all_reported(settings_for: Settings) -> None:
    bad = settings_for(
        runner_version="latest",
        runner_sha256="XYZ",
        concurrent=0,
        docker=DockerSettings(image="img", pull_policy=("sometimes",)),
        registrations=(
            Registration(name="a", token_parameter="/p/a"),
            Registration(name="a", token_parameter="not a parameter"),
        ),
    )
    with pytest.raises(SpecError) as info:
        render_bootstrap(bad)
    text = "\n".join(info.value.problems)
    for key in ("runner_version", "runner_sha256", "concurrent", "pull_policy", "repeated names"):
        assert key in text
    assert "token_parameter" in text and info.value.hint


def test_no_registrations_is_refused(settings_for: Settings) -> None:
    with pytest.raises(SpecError, match="invalid bootstrap settings"):
        render_bootstrap(settings_for(registrations=()))


def test_drain_settings_are_checked() -> None:
    with pytest.raises(SpecError) as info:
        render_drain_script(
            DrainSettings(asg_name="x y", terminate_hook_name="h", max_drain_seconds=5)
        )
    assert len(info.value.problems) == 2


def test_per_registration_docker_override(settings_for: Settings) -> None:
    special = DockerSettings(image="docker:27-dind", privileged=True, pull_policy=("always",))
    base = settings_for()
    regs = (dataclasses.replace(base.registrations[0], docker=special), base.registrations[1])
    text = render_bootstrap(dataclasses.replace(base, registrations=regs))
    assert "--docker-image docker:27-dind --docker-privileged=true" in text
    assert "--docker-image registry.gitlab.com/acme/job:2026.11 --docker-privileged=false" in text


def test_system_id_convention() -> None:
    assert system_id_for_instance("i-0123456789abcdef0") == "r_56789abcdef0"
    assert system_id_for_instance("i-1234abcd") == "r_00001234abcd"
    assert SYSTEM_ID_RE.match(system_id_for_instance("i-0123456789abcdef0"))
    assert matches_instance("r_56789abcdef0", "i-0123456789abcdef0")
    assert not matches_instance("s_56789abcdef0", "i-0123456789abcdef0")
    assert not matches_instance("r_56789abcdef0", "not-an-instance")
    with pytest.raises(ValueError, match="not an EC2 instance id"):
        system_id_for_instance("i-XYZ")


def test_user_data_over_the_limit_is_refused(settings_for: Settings) -> None:
    base = settings_for()
    many = tuple(
        Registration(name=f"r{i:03d}", token_parameter=f"/runnerfleet/rf-dev/runners/r{i:03d}")
        for i in range(400)
    )
    with pytest.raises(SpecError, match="over EC2's 16384") as info:
        render_user_data(dataclasses.replace(base, registrations=many))
    assert info.value.hint
