"""plan_registrations is pure: desired registrations + SSM bookkeeping -> actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.errors import SpecError
from runnerfleet.gitlab.registry import Desired, Existing, desired_from_spec, plan_registrations
from runnerfleet.gitlab.tokens import StoredToken
from tests.gitlab.conftest import make_spec, write_env

P = "/runnerfleet/s/runners/"


def _d(name: str, scope: int = 42, tags: tuple[str, ...] = ("docker",), **kw: object) -> Desired:
    return Desired(
        name=name, runner_type="project_type", scope_id=scope, parameter=P + name, tags=tags, **kw
    )  # type: ignore[arg-type]


def _s(d: Desired, runner_id: int, fingerprint: str | None = None) -> StoredToken:
    return StoredToken(d.name, d.parameter, runner_id, fingerprint or d.fingerprint(), True)


def _kinds(plan: object) -> dict[str, str]:
    return {a.name: a.kind for a in plan.actions}  # type: ignore[attr-defined]


def test_new_kept_changed_and_removed() -> None:
    keep, new, retag, moved = _d("keep"), _d("new"), _d("retag"), _d("moved")
    stored = [
        _s(keep, 1),
        _s(retag, 2, _d("retag", tags=("old",)).fingerprint()),
        _s(moved, 3, _d("moved", scope=41).fingerprint()),
        _s(_d("gone"), 4),
    ]
    plan = plan_registrations(
        [keep, new, _d("retag"), moved], Existing(tuple(stored), frozenset({1, 2, 3, 4}))
    )
    assert _kinds(plan) == {
        "keep": "keep",
        "new": "create",
        "retag": "update",
        "moved": "replace",
        "gone": "delete",
    }
    assert plan.problems == ()
    assert plan.instances_affected
    assert {a.name: a.runner_id for a in plan.of("replace", "delete")} == {"moved": 3, "gone": 4}


def test_runner_deleted_in_gitlab_is_recreated() -> None:
    d = _d("a")
    plan = plan_registrations([d], Existing((_s(d, 7),), frozenset()))
    assert _kinds(plan) == {"a": "recreate"}
    unchecked = plan_registrations([d], Existing((_s(d, 7),), None))
    assert _kinds(unchecked) == {"a": "keep"}
    assert not unchecked.changes


def test_external_tokens_are_never_created_or_deleted() -> None:
    ext = _d("ext", source="ssm", source_ref="/team/token")
    plan = plan_registrations([ext], Existing())
    assert _kinds(plan) == {"ext": "external"}
    assert not plan.changes


def test_duplicate_names_are_reported_as_problems() -> None:
    plan = plan_registrations([_d("a"), _d("a", scope=43)], Existing())
    assert any("'a' is used 2 times" in p for p in plan.problems)


def test_two_registrations_with_the_same_name_in_the_file(tmp_path: Path) -> None:
    path = write_env(
        tmp_path,
        "http://127.0.0.1:1",
        """\
  - {name: backend, type: project, project_id: 42, tags: [docker]}
  - {name: backend, type: group, group_id: 7, tags: [docker]}
""",
    )
    from runnerfleet.envfile import load_environment

    with pytest.raises(SpecError) as exc:
        load_environment(path)
    assert "backend" in str(exc.value)


def test_desired_from_spec(tmp_path: Path) -> None:
    spec = make_spec(
        tmp_path,
        "http://127.0.0.1:1",
        """\
  - {name: backend, type: project, project_id: 42, tags: [docker], maximum_timeout: 3600}
  - {name: shared, type: instance, run_untagged: true}
  - {name: byo, type: group, group_id: 7, tags: [a], token: {ssm_parameter: /team/glrt}}
  - {name: old, type: project, project_id: 43, tags: [a], token: {env: OLD_REG_TOKEN}}
""",
    )
    by_name = {d.name: d for d in desired_from_spec(spec)}
    backend = by_name["backend"]
    assert (backend.runner_type, backend.scope_id, backend.maximum_timeout) == (
        "project_type",
        42,
        3600,
    )
    assert backend.parameter == "/runnerfleet/runnerfleet-test/runners/backend"
    assert by_name["shared"].create_params("s", "e")["runner_type"] == "instance_type"
    assert "project_id" not in by_name["shared"].create_params("s", "e")
    assert (by_name["byo"].source, by_name["byo"].parameter) == ("ssm", "/team/glrt")
    assert (by_name["old"].source, by_name["old"].source_ref) == ("env", "OLD_REG_TOKEN")
    assert by_name["old"].parameter == "/runnerfleet/runnerfleet-test/runners/old"
    params = backend.create_params("runnerfleet-test", "test")
    assert params["description"] == "runnerfleet:runnerfleet-test/backend (test)"
    assert params["project_id"] == 42 and params["tag_list"] == ["docker"]


def test_server_text_quoted_in_errors_is_scrubbed_of_tokens() -> None:
    from runnerfleet.gitlab.client import http_error, redact

    body = "bad token glrt-abcdEFGH1234_x and glpat-zzzzzzzzzzzz, GR1348941qwertyuiop"
    assert redact(body) == "bad token [redacted] and [redacted], [redacted]"
    for code in (403, 404, 500):
        error = http_error("create the runner", code, body)
        assert "glrt-" not in str(error) and "glpat-" not in str(error) and error.hint
