"""Input the loaders must refuse fast and clearly: alias bombs, deep nesting, duplicate keys,
encodings, schedules, regions, booleans where numbers belong, and every token prefix."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runnerfleet.envfile import load_environment
from runnerfleet.envfile.policy import load_policy
from runnerfleet.errors import SpecError
from runnerfleet.tokenscreen import GITLAB_TOKEN_PREFIXES, redact, secret_kind
from tests.envfile.test_loader import VALID, problems_of, write

# Each level repeats the one above nine times: 9**7 values from a file of about 350 bytes.
ALIAS_BOMB = "\n".join(
    [
        'a0: &a0 ["x","x","x","x","x","x","x","x","x"]',
        *(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)),
    ]
)
MERGE_BOMB = "\n".join(
    [
        "m0: &m0 {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1}",
        *(
            f"m{i}: &m{i} {{{', '.join(f'l{j}: *m{i - 1}' for j in range(9))}}}"
            for i in range(1, 8)
        ),
        "name: {<<: *m7}",
    ]
)


@pytest.mark.parametrize("text", [ALIAS_BOMB, MERGE_BOMB], ids=["aliases", "merge-keys"])
def test_alias_bombs_are_refused_in_well_under_a_second(tmp_path: Path, text: str) -> None:
    assert len(text) < 1000
    path = write(tmp_path, text)
    started = time.perf_counter()
    [problem] = problems_of(path)
    assert time.perf_counter() - started < 0.5
    assert problem.startswith(f"{path}:")
    assert "expands the file past 50,000 values; fix: write the values out" in problem


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    text = VALID.replace("tags: [docker]}", "tags: &tags [docker]}")
    text += "  - {name: web, type: project, project_id: 8, tags: *tags}\n"
    text = text.replace("artifacts: {bucket: my-bucket}\n", "") + "artifacts: {bucket: b-1}\n"
    spec = load_environment(write(tmp_path, text))
    assert spec.registrations[1].tags == ("docker",)


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 5000 + "]" * 5000, "a: " + "[" * 500 + "]" * 500,
     "".join(f"{'  ' * i}k{i}:\n" for i in range(300)) + "  " * 300 + "v: 1\n"],
    ids=["flow-5000", "flow-500", "block-300"],
)  # fmt: skip
def test_deep_nesting_is_refused_without_a_traceback(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    started = time.perf_counter()
    [problem] = problems_of(path)
    assert time.perf_counter() - started < 0.5
    assert "nest" in problem and "; fix: flatten the structure" in problem


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "capacity: {max: 4}\ncapacity: {max: 999}\n")
    first = 1 + VALID.count("\n")
    assert problems_of(path) == [
        f"{path}:{first + 1}: capacity: duplicate key (first at line {first}); "
        "fix: keep one of them: YAML would silently use the last"
    ]


def test_nested_duplicate_keys_are_all_reported(tmp_path: Path) -> None:
    text = VALID + "scaling:\n  cooldown_s: 60\n  policy: idle\n  cooldown_s: 600\n"
    text += "drain: {max_drain_s: 900, max_drain_s: 1200}\n"
    problems = problems_of(write(tmp_path, text))
    assert [p.split(": ", 2)[1] for p in problems] == ["scaling.cooldown_s", "drain.max_drain_s"]


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = VALID + "scaling: {<<: {cooldown_s: 60, policy: idle}, cooldown_s: 90}\n"
    spec = load_environment(write(tmp_path, text))
    assert spec.scaling.cooldown_s == 90 and spec.scaling.policy == "idle"


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_bytes(b"name: t1\naws:\n  region: \xff\n")
    assert problems_of(path) == [
        f"{path}:3: (file): not UTF-8 text (byte 0xff at offset 24); fix: save the file as UTF-8"
    ]


def test_a_directory_or_device_is_refused(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path)
    assert problem == f"{tmp_path}:1: (file): not a regular file; fix: give the path of a YAML file"


def test_file_level_errors_keep_their_fix_across_several_files(tmp_path: Path) -> None:
    from runnerfleet.envfile import load_environments

    good = write(tmp_path, VALID, "good.yaml")
    bad = write(tmp_path, "name: [\n", "bad.yaml")
    cycle = write(tmp_path, "extends: cycle.yaml\n", "cycle.yaml")
    with pytest.raises(SpecError) as info:
        load_environments([good, bad, cycle])
    assert len(info.value.problems) == 2
    assert all("; fix: " in p for p in info.value.problems)
    assert "extends: extends forms a cycle" in info.value.problems[1]


@pytest.mark.parametrize(
    ("cron", "fragment"),
    [
        ("99 99 * * xyz", "'99 99 * * xyz' is not a valid cron expression"),
        ("*/0 * * * *", "is not a valid cron expression"),
        ("* * * * 8", "is not a valid cron expression"),
        ("1-100 * * * *", "is not a valid cron expression"),
        ("@hourly", "five fields, this one has 1"),
        ("* * * * * *", "five fields, this one has 6"),
    ],
)
def test_bad_cron_expressions_are_refused_at_load(tmp_path: Path, cron: str, fragment: str) -> None:
    text = VALID + f'scaling:\n  schedule:\n    - {{cron: "{cron}", min: 1}}\n'
    [problem] = problems_of(write(tmp_path, text))
    assert "scaling.schedule[0].cron: " in problem and fragment in problem
    assert "; fix: write five fields" in problem


@pytest.mark.parametrize("cron", ["* 7-19 * * mon-fri", "0 0 L * *", "0 8 * * 5#3", "*/15 * * * *"])
def test_cron_expressions_the_autoscaler_evaluates_load(tmp_path: Path, cron: str) -> None:
    from runnerfleet.scaling.schedule import check_period

    text = VALID + f'scaling:\n  schedule:\n    - {{cron: "{cron}", min: 1}}\n'
    assert load_environment(write(tmp_path, text)).scaling.schedule[0].cron == cron
    check_period(cron, "UTC")  # the run-time check agrees


@pytest.mark.parametrize(
    ("zone", "fragment"),
    [
        ("Mars/Base", "use an IANA name"),
        ("Europe/Berln", "did you mean 'Europe/Berlin'?"),
        ("localtime", "unknown time zone 'localtime'"),
    ],
)
def test_bad_time_zones_are_refused(tmp_path: Path, zone: str, fragment: str) -> None:
    text = VALID + f'scaling:\n  schedule:\n    - {{cron: "* * * * *", timezone: "{zone}"}}\n'
    [problem] = problems_of(write(tmp_path, text))
    assert "scaling.schedule[0].timezone: unknown time zone" in problem and fragment in problem


def test_region_typo_suggests_the_region(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, VALID.replace("us-east-1", "eu-wset-1")))
    assert "aws.region: unknown AWS region 'eu-wset-1'; fix: did you mean 'eu-west-1'?" in problem
    [problem] = problems_of(write(tmp_path, VALID.replace("us-east-1", "us-est-1")))
    assert "'us-east-1'" in problem


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1", "us-gov-west-1", "eu-central-2"])
def test_every_partition_region_loads(tmp_path: Path, region: str) -> None:
    spec = load_environment(write(tmp_path, VALID.replace("us-east-1", region)))
    assert spec.aws.region == region


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("capacity: {max: true}\n", "capacity.max"),
        ("scaling: {cooldown_s: false}\n", "scaling.cooldown_s"),
        ("scaling: {scale_factor: true}\n", "scaling.scale_factor"),
        ("logs: {retention_days: true}\n", "logs.retention_days"),
    ],
)
def test_booleans_are_not_numbers(tmp_path: Path, extra: str, key: str) -> None:
    problems = problems_of(write(tmp_path, VALID + extra))
    assert any(f"{key}: " in p and "yes/no value, not a number" in p for p in problems)


def test_policy_file_uses_the_same_guarded_loader(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: {max_fleet_size: 5}\ndefaults: {max_fleet_size: 50}\n")
    with pytest.raises(SpecError, match="duplicate key"):
        load_policy(path)
    path = write(tmp_path, "defaults: {max_fleet_size: true, forbid_privilegd: true}\n")
    with pytest.raises(SpecError) as info:
        load_policy(path)
    assert all(p.startswith(f"{path}:1: defaults.") for p in info.value.problems)
    assert any("did you mean 'forbid_privileged'" in p for p in info.value.problems)


@pytest.mark.parametrize(("prefix", "kind"), GITLAB_TOKEN_PREFIXES)
def test_every_gitlab_token_prefix_is_refused_and_never_echoed(
    tmp_path: Path, prefix: str, kind: str
) -> None:
    token = f"{prefix}Zq8xW3kq9Zr1abcdEFGH"
    assert secret_kind(f"see {token} here") == kind
    assert redact(f"see {token} here") == "see [redacted] here"
    text = VALID.replace("docker: {image: alpine:3.20}", f"docker: {{image: '{token}'}}")
    problems = problems_of(write(tmp_path, text))
    assert any(f"looks like a {kind} (not shown)" in p for p in problems)
    assert token not in "\n".join(problems)


def test_a_token_in_a_patterned_field_is_not_echoed(tmp_path: Path) -> None:
    token = "glrt-t1_xW3kq9Zr1abcdEFGH"
    text = VALID.replace("tags: [docker]}", f"tags: [docker], token: {{ssm_parameter: {token}}}}}")
    problems = problems_of(write(tmp_path, text))
    assert problems and token not in "\n".join(problems)
    assert any("registrations[0].token.ssm_parameter: this looks like" in p for p in problems)


def test_url_credentials_are_secrets() -> None:
    assert secret_kind("https://oauth2:hunter2@gitlab.example.com") == "password in a URL"
    assert redact("https://oauth2:hunter2@gitlab.example.com/x") == (
        "https://oauth2:[redacted]@gitlab.example.com/x"
    )
    assert secret_kind("https://gitlab.example.com:8443/x") is None
    assert secret_kind("a glrt- token") is None
