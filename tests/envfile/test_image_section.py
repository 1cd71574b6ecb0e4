"""The image: section and warm capacity: bad input is refused with its file, line, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from runnerfleet.envfile import load_environment
from tests.conftest import EXAMPLES
from tests.envfile.test_loader import VALID, problems_of, write

DIGEST = "ab" * 32
PINNED = VALID.replace(
    "  docker: {image: alpine:3.20}",
    f'  version: "17.11.1"\n  sha256: "{DIGEST}"\n  docker: {{image: alpine:3.20}}',
)


def _with(text: str) -> str:
    return PINNED + text


def test_an_image_section_loads_with_its_defaults(tmp_path: Path) -> None:
    spec = load_environment(write(tmp_path, _with("image: {name: runner}\n")))
    image = spec.image
    assert image is not None
    assert image.stack == "runnerfleet-image-runner"
    assert image.parameter == "/runnerfleet/images/runner/ami-id"
    assert image.docker and image.agents == ("cloudwatch", "ssm") and image.os_patches
    assert image.schedule == "cron(0 4 1 * ? *)"  # monthly


def test_the_example_shares_its_runner_pin_with_the_fleet() -> None:
    spec = load_environment(EXAMPLES / "fast.yaml")
    assert spec.image is not None and spec.image.runner is None
    assert spec.capacity.warm_pool is not None and spec.instances.spot is None


def test_runner_pinned_without_checksum_is_refused_at_its_line(tmp_path: Path) -> None:
    text = _with('image:\n  name: runner\n  runner: {version: "17.11.1"}\n')
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    line = text.splitlines().index('  runner: {version: "17.11.1"}') + 1
    assert problem.startswith(f"{path}:{line}: image.runner: ")
    assert "without its checksum" in problem and "fix: add sha256:" in problem


def test_job_images_without_registry_or_tag_are_refused_each_at_its_line(tmp_path: Path) -> None:
    text = _with(
        "image:\n  name: runner\n  pre_pull:\n"
        "    - alpine:3.20\n"
        "    - registry.example.com/ci/job\n"
        "    - registry.example.com:5000/ci/job@sha256:" + "0" * 64 + "\n"
    )
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert len(problems) == 2, problems
    lines = text.splitlines()
    first, second = problems
    assert first.startswith(f"{path}:{lines.index('    - alpine:3.20') + 1}: image.pre_pull[0]:")
    assert "names no registry" in first and "fix: write the registry" in first
    assert second.startswith(f"{path}:{lines.index('    - registry.example.com/ci/job') + 1}:")
    assert "no tag or digest" in second and "fix: pin it" in second


def test_warm_pool_on_a_mixed_group_is_refused_at_its_line(tmp_path: Path) -> None:
    text = _with(
        "instances:\n  types: [m7i.large, m6i.large]\n  spot: {}\n"
        "capacity:\n  max: 6\n  warm_pool: {min_size: 1}\n"
    )
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    line = text.splitlines().index("  warm_pool: {min_size: 1}") + 1
    assert problem.startswith(f"{path}:{line}: capacity.warm_pool: AWS refuses a warm pool")
    assert "instances.spot is set and instances.types lists 2 types" in problem
    assert "fix:" in problem


def test_a_single_type_without_spot_may_have_a_warm_pool(tmp_path: Path) -> None:
    text = _with("capacity:\n  max: 6\n  warm_pool: {min_size: 1}\n")
    assert load_environment(write(tmp_path, text)).capacity.warm_pool is not None


def test_baking_another_runner_than_the_fleet_runs_is_refused(tmp_path: Path) -> None:
    text = _with(f'image:\n  name: runner\n  runner: {{version: "17.10.0", sha256: "{DIGEST}"}}\n')
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    assert (
        "image.runner: the image bakes gitlab-runner 17.10.0 but the fleet runs 17.11.1" in problem
    )


def test_baking_without_any_checksum_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "image: {name: runner}\n")
    (problem,) = problems_of(path)
    assert (
        ": image: the baked gitlab-runner 17.11.1 has no checksum; fix: set runner.sha256"
        in problem
    )


def test_a_root_volume_smaller_than_the_image_is_refused(tmp_path: Path) -> None:
    text = _with("instances:\n  volume: {size_gb: 20}\nimage: {name: runner, volume_size_gb: 40}\n")
    (problem,) = problems_of(write(tmp_path, text))
    assert (
        "instances.volume.size_gb: 20 GB is smaller than the baked image's root volume" in problem
    )


def test_an_image_in_the_base_file_is_shared_by_its_children(tmp_path: Path) -> None:
    write(tmp_path, PINNED.replace("name: t1\n", "") + "image: {name: shared}\n", "base.yaml")
    child = write(tmp_path, "extends: base.yaml\nname: t2\n", "child.yaml")
    other = write(tmp_path, "extends: base.yaml\nname: t3\n", "other.yaml")
    images = [load_environment(p).image for p in (child, other)]
    assert [i.parameter for i in images if i] == ["/runnerfleet/images/shared/ami-id"] * 2


def test_validate_reports_every_image_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the issue's three refusals at once: each section's error does not hide the others'
    text = _with(
        'image:\n  name: runner\n  runner: {version: "17.11.1"}\n  pre_pull: [alpine:3.20]\n'
        "instances:\n  types: [m7i.large, m6i.large]\n  spot: {}\n"
        "capacity:\n  max: 6\n  warm_pool: {min_size: 1}\n"
    )
    path = write(tmp_path, text)
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "image.runner" in err and "image.pre_pull[0]" in err
    line = text.splitlines().index("  warm_pool: {min_size: 1}") + 1
    assert f"{path}:{line}: capacity.warm_pool: AWS refuses a warm pool" in err
    assert err.count("capacity.warm_pool: AWS refuses") == 1
    assert "Traceback" not in err


def test_a_warm_pool_problem_alone_is_reported_once(tmp_path: Path) -> None:
    text = _with("instances:\n  spot: {}\ncapacity:\n  max: 6\n  warm_pool: {min_size: 1}\n")
    (problem,) = problems_of(write(tmp_path, text))
    assert "capacity.warm_pool: AWS refuses a warm pool" in problem
