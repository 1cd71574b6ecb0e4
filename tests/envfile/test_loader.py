"""Environment files: loading, inheritance, and every bad input named in the issue."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.envfile import load_environment, load_environments, merge
from runnerfleet.errors import SpecError
from tests.conftest import EXAMPLES

VALID = """\
name: t1
aws: {account_id: "123456789012", region: us-east-1}
network: {vpc_id: vpc-0a1b2c3d, subnet_ids: [subnet-0a1b2c3d]}
runner:
  gitlab_url: https://gitlab.example.com
  docker: {image: alpine:3.20}
registrations:
  - {name: app, type: project, project_id: 7, tags: [docker]}
artifacts: {bucket: my-bucket}
"""


def write(tmp_path: Path, text: str, name: str = "env.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_environment(path)
    return info.value.problems or [info.value.message]


def test_examples_load() -> None:
    dev = load_environment(EXAMPLES / "dev.yaml")
    prod = load_environment(EXAMPLES / "prod.yaml")
    assert dev.stack == "runnerfleet-dev" and prod.production
    assert [r.name for r in dev.registrations] == ["platform", "backend"]
    assert prod.registrations[0].access_level == "ref_protected"  # child replaced by name
    assert dev.runner.docker.image.startswith("registry.gitlab.example.com")  # inherited


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    spec = load_environment(write(tmp_path, VALID))
    assert spec.capacity.min == 0 and spec.instances.volume.encrypted
    assert spec.token_parameter(spec.registrations[0]) == "/runnerfleet/runnerfleet-t1/runners/app"


def test_models_are_frozen(tmp_path: Path) -> None:
    spec = load_environment(write(tmp_path, VALID))
    with pytest.raises(ValueError, match="frozen"):
        spec.capacity.max = 9  # type: ignore[misc]


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t1\naws: {account_id: [\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:3: (file): not valid YAML at column 1: ")
    assert problem.endswith(
        "; fix: fix the indentation or quoting there (a value with ': ' needs quotes)"
    )


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="must be a mapping"):
        load_environment(write(tmp_path, "- a\n- b\n"))


def test_unknown_key_suggests_spelling(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, VALID + "capacity: {mx: 3}\n"))
    assert any("capacity.mx" in p and "did you mean 'max'" in p for p in problems)
    assert all(p.startswith(str(tmp_path)) for p in problems)


def test_wrong_type_names_key_and_fix(tmp_path: Path) -> None:
    text = VALID.replace("docker: {image", "concurrent: many\n  docker: {image")
    problems = problems_of(write(tmp_path, text))
    assert any("runner.concurrent" in p and "use a whole number" in p for p in problems)


def test_min_greater_than_max(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, VALID + "capacity: {min: 5, max: 2}\n"))
    assert any("min (5) is greater than max (2)" in p for p in problems)


def test_desired_out_of_bounds(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, VALID + "capacity: {min: 1, max: 3, desired: 9}\n"))
    assert any("desired (9) is outside [min, max]" in p for p in problems)


def test_empty_subnet_list(tmp_path: Path) -> None:
    text = VALID.replace("subnet_ids: [subnet-0a1b2c3d]", "subnet_ids: []")
    problems = problems_of(write(tmp_path, text))
    assert any("network.subnet_ids" in p and "at least one" in p for p in problems)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = VALID.replace("subnet_ids: [subnet-0a1b2c3d]", "subnet_ids: []")
    text += "capacity: {min: 5, max: 2, desird: 1}\nbogus: 1\n"
    problems = problems_of(write(tmp_path, text))
    joined = "\n".join(problems)
    for expected in ("subnet_ids", "desird", "bogus", "min (5) is greater than max (2)"):
        assert expected in joined
    assert len(problems) >= 4


def test_token_in_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "glrt-SECRETsecret12345"
    text = VALID.replace("tags: [docker]}", f"tags: [docker], token: {secret}}}")
    with pytest.raises(SpecError) as info:
        load_environment(write(tmp_path, text))
    assert "looks like a GitLab runner authentication token" in str(info.value)
    assert secret not in str(info.value)


def test_duplicate_registration_names(tmp_path: Path) -> None:
    text = VALID + "  - {name: app, type: group, group_id: 3, tags: [x]}\n"
    text = text.replace("artifacts: {bucket: my-bucket}\n", "") + "artifacts: {bucket: my-bucket}\n"
    problems = problems_of(write(tmp_path, text))
    assert any("repeated: app" in p for p in problems)


def test_registration_target_rules(tmp_path: Path) -> None:
    text = VALID.replace("type: project, project_id: 7, tags: [docker]", "type: group, tags: []")
    problems = problems_of(write(tmp_path, text))
    joined = "\n".join(problems)
    assert "needs group_id" in joined


def test_inheritance_cycle(tmp_path: Path) -> None:
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(SpecError, match="extends forms a cycle"):
        load_environment(tmp_path / "a.yaml")


def test_missing_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "extends: nowhere.yaml\n" + VALID)
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:1: extends: the parent file ")
    assert "nowhere.yaml does not exist" in problem and "; fix: check the path" in problem


def test_null_removes_inherited_value(tmp_path: Path) -> None:
    write(
        tmp_path, VALID.replace("name: t1\n", "") + "instances: {max_lifetime_s: 86400}\n", "b.yaml"
    )
    spec = load_environment(
        write(tmp_path, "extends: b.yaml\nname: t2\ninstances: {max_lifetime_s: null}\n")
    )
    assert spec.instances.max_lifetime_s == 604800  # back to the default


def test_merge_rules() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "registrations": [{"name": "r1", "v": 1}, {"name": "r2"}]}
    child = {
        "a": {"y": [3]},
        "registrations": [{"name": "r1", "v": 2}, {"name": "r2", "remove": True}, {"name": "r3"}],
    }
    merged = merge(base, child)
    assert merged["a"] == {"x": 1, "y": [3]}
    assert merged["registrations"] == [{"name": "r1", "v": 2}, {"name": "r3"}]


def test_load_environments_collects_across_files(tmp_path: Path) -> None:
    bad1 = write(tmp_path, VALID + "x: 1\n", "one.yaml")
    bad2 = write(tmp_path, VALID + "y: 1\n", "two.yaml")
    with pytest.raises(SpecError) as info:
        load_environments([bad1, bad2])
    joined = "\n".join(info.value.problems)
    assert "one.yaml" in joined and "two.yaml" in joined


def test_stack_name_may_not_start_with_aws(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, VALID + "stack_name: aws-runners\n"))
    assert any("stack_name" in p and "aws or amazon" in p for p in problems)


@pytest.mark.parametrize(
    "key_path", [("capacity", "max"), ("instances", "types", 0), ("registrations", 1, "tags", 2)]
)
def test_dotted_key_paths_read_back(key_path: tuple[str | int, ...]) -> None:
    from runnerfleet.envfile.errorfmt import dotted, undotted

    assert undotted(dotted(key_path)) == key_path
