"""Creating, storing, reconciling and rolling back runners: stand-in + SSM under moto."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path
from typing import Any

import gitlab.exceptions
import pytest
import requests

from runnerfleet.envfile import FleetSpec
from runnerfleet.errors import AwsError, GitLabError, SpecError
from runnerfleet.gitlab.apply import Registrar, apply_registration_plan, gather_existing
from runnerfleet.gitlab.client import connect, resolve_access_token
from runnerfleet.gitlab.inventory import apply_prune, collect, find_orphans, plan_prune
from runnerfleet.gitlab.registry import desired_from_spec, plan_registrations
from runnerfleet.gitlab.tokens import TokenStore
from runnerfleet.sandbox.standin import GitLabStandIn
from runnerfleet.stack.system_id import system_id_for_instance
from tests.gitlab.conftest import PAT, READ_ONLY_PAT, STACK, THREE, make_spec

PREFIX = f"/runnerfleet/{STACK}/runners/"


def _apply(spec: FleetSpec, r: Registrar, phase: str = "all") -> Any:
    plan = plan_registrations(desired_from_spec(spec), gather_existing(r))
    return plan, apply_registration_plan(plan, r, phase)  # type: ignore[arg-type]


def _read_only_registrar(standin: GitLabStandIn, store: TokenStore) -> Registrar:
    """A registrar whose token may read but not create runners."""
    return Registrar(
        gl=connect(standin.url, READ_ONLY_PAT),
        url=standin.url,
        store=store,
        stack=STACK,
        environment="test",
    )


def _params(ssm: Any) -> dict[str, Any]:
    found = ssm.describe_parameters()["Parameters"]
    return {p["Name"]: p for p in found}


def test_create_stores_each_token_as_secure_string(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    spec = make_spec(tmp_path, standin.url, THREE)
    _, report = _apply(spec, registrar)
    assert sorted(n for n, _ in report.created) == ["backend", "frontend", "platform"]
    runners = standin.state.runners
    assert len(runners) == 3
    params = _params(ssm)
    assert sorted(params) == [PREFIX + n for n in ("backend", "frontend", "platform")]
    for name, runner_id in report.created:
        param = params[PREFIX + name]
        assert (param["Type"], param["KeyId"]) == ("SecureString", "alias/runnerfleet-test")
        assert json.loads(param["Description"])["runner_id"] == runner_id
        value = ssm.get_parameter(Name=PREFIX + name, WithDecryption=True)["Parameter"]["Value"]
        assert value == runners[runner_id].token and value.startswith("glrt-")
        assert runners[runner_id].description == f"runnerfleet:{STACK}/{name} (test)"
    platform = runners[dict(report.created)["platform"]]
    assert (platform.runner_type, platform.scope_id, platform.maximum_timeout) == (
        "group_type",
        7,
        3600,
    )
    again, _ = _apply(spec, registrar)
    assert {a.kind for a in again.actions} == {"keep"}


def test_third_runner_failure_rolls_back_the_first_two(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    standin.state.fail_after("create_runner", 2)
    spec = make_spec(tmp_path, standin.url, THREE)
    with pytest.raises(GitLabError) as exc:
        _apply(spec, registrar)
    assert "rolled back 2 runner(s)" in str(exc.value)
    assert standin.state.runners == {}
    assert _params(ssm) == {}


def test_token_without_create_runner_scope_changes_nothing(
    tmp_path: Path, standin: GitLabStandIn, store: TokenStore, ssm: Any
) -> None:
    r = _read_only_registrar(standin, store)
    with pytest.raises(GitLabError) as exc:
        _apply(make_spec(tmp_path, standin.url, THREE), r)
    assert "403" in exc.value.message and "create_runner" in exc.value.message
    assert READ_ONLY_PAT not in str(exc.value)
    assert standin.state.runners == {} and _params(ssm) == {}


def test_scope_check_falls_back_to_the_create_call(
    tmp_path: Path, standin: GitLabStandIn, store: TokenStore, ssm: Any
) -> None:
    """Where GitLab cannot report scopes, the 403 of POST /user/runners is the refusal."""
    standin.state.tokens[READ_ONLY_PAT].scopes = frozenset({"read_api", "manage_runner"})
    r = _read_only_registrar(standin, store)
    with pytest.raises(GitLabError) as exc:
        _apply(make_spec(tmp_path, standin.url, THREE), r)
    assert "403" in exc.value.message
    assert standin.state.runners == {} and _params(ssm) == {}


def test_project_that_does_not_exist_is_a_404(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    spec = make_spec(
        tmp_path,
        standin.url,
        THREE
        + """\
  - {name: ghost, type: project, project_id: 4242, tags: [docker]}
  - {name: ghostgroup, type: group, group_id: 777, tags: [docker]}
""",
    )
    with pytest.raises(GitLabError) as exc:
        _apply(spec, registrar)
    text = str(exc.value)
    assert "project 4242 does not exist" in text and "group 777 does not exist" in text
    assert "(404)" in text
    assert standin.state.runners == {} and _params(ssm) == {}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gitlab_unreachable_is_clear_and_changes_nothing(
    tmp_path: Path, store: TokenStore, ssm: Any
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    r = Registrar(
        gl=connect(url, PAT, timeout=2), url=url, store=store, stack=STACK, environment="test"
    )
    with pytest.raises(GitLabError) as exc:
        _apply(make_spec(tmp_path, url, THREE), r)
    assert "unreachable" in exc.value.message and url in exc.value.message
    assert _params(ssm) == {}


def test_unreachable_mid_run_rolls_back(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    """GitLab goes away during the third create: what cannot be deleted is named for prune."""
    gl = registrar.gl
    real_post, real_delete = gl.http_post, gl.http_delete
    state = {"posts": 0, "down": False}

    def post(path: str, *args: Any, **kwargs: Any) -> Any:
        state["posts"] += 1
        if path == "/user/runners" and state["posts"] > 2:
            state["down"] = True
        if state["down"]:
            raise requests.exceptions.ConnectionError("connection refused")
        return real_post(path, *args, **kwargs)

    def delete(path: str, *args: Any, **kwargs: Any) -> Any:
        if state["down"] and path.endswith(str(first_id())):
            raise requests.exceptions.ConnectionError("connection refused")
        return real_delete(path, *args, **kwargs)

    def first_id() -> int:
        return min(standin.state.runners)

    gl.http_post = post  # type: ignore[method-assign]
    gl.http_delete = delete  # type: ignore[method-assign]
    with pytest.raises(GitLabError) as exc:
        _apply(make_spec(tmp_path, standin.url, THREE), registrar)
    text = str(exc.value)
    assert "unreachable" in text and "rolled back 1 runner(s)" in text
    assert f"could not delete backend (runner {first_id()})" in text and "prune" in text
    assert list(standin.state.runners) == [first_id()]
    assert _params(ssm) == {}


def test_reconcile_adds_and_removes_registrations(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    _apply(make_spec(tmp_path, standin.url, THREE), registrar)
    old_ids = {r.description: r.id for r in standin.state.runners.values()}
    edited = make_spec(
        tmp_path,
        standin.url,
        """\
  - {name: backend, type: project, project_id: 42, tags: [docker, backend, big]}
  - {name: frontend, type: project, project_id: 43, tags: [docker], run_untagged: true}
  - {name: tools, type: project, project_id: 99, tags: [tools]}
""",
    )
    plan, report = _apply(edited, registrar, "pre")
    assert {a.name: a.kind for a in plan.actions} == {
        "backend": "update",
        "frontend": "keep",
        "tools": "create",
        "platform": "delete",
    }
    assert [n for n, _ in report.created] == ["tools"] and report.deleted == []
    platform_id = old_ids[f"runnerfleet:{STACK}/platform (test)"]
    assert platform_id in standin.state.runners  # still serving until the refresh is done
    backend = standin.state.runners[old_ids[f"runnerfleet:{STACK}/backend (test)"]]
    assert backend.tag_list == ["backend", "big", "docker"]
    apply_registration_plan(plan, registrar, "post")
    assert platform_id not in standin.state.runners
    assert PREFIX + "platform" not in _params(ssm)
    final, _ = _apply(edited, registrar)
    assert {a.kind for a in final.actions} == {"keep"}


def test_moved_registration_is_replaced_after_the_refresh(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    _apply(make_spec(tmp_path, standin.url, THREE), registrar)
    old = {r.description: r.id for r in standin.state.runners.values()}
    moved = THREE.replace("project_id: 43", "project_id: 99")
    plan, report = _apply(make_spec(tmp_path, standin.url, moved), registrar, "pre")
    old_id = old[f"runnerfleet:{STACK}/frontend (test)"]
    new_id = dict(report.created)["frontend"]
    token = ssm.get_parameter(Name=PREFIX + "frontend", WithDecryption=True)["Parameter"]
    assert token["Value"] == standin.state.runners[new_id].token
    assert old_id in standin.state.runners
    apply_registration_plan(plan, registrar, "post")
    assert old_id not in standin.state.runners and new_id in standin.state.runners


def test_runner_deleted_in_gitlab_is_recreated(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar
) -> None:
    spec = make_spec(tmp_path, standin.url, THREE)
    _apply(spec, registrar)
    victim = next(iter(standin.state.runners))
    standin.state.delete_runner(victim)
    plan, report = _apply(spec, registrar)
    assert [a.kind for a in plan.actions].count("recreate") == 1
    assert len(standin.state.runners) == 3 and len(report.created) == 1


def test_token_reference_missing_in_ssm(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    spec = make_spec(
        tmp_path,
        standin.url,
        """\
  - {name: byo, type: project, project_id: 42, tags: [a], token: {ssm_parameter: /team/glrt}}
""",
    )
    with pytest.raises(SpecError) as exc:
        _apply(spec, registrar)
    assert "/team/glrt does not exist" in str(exc.value)
    assert standin.state.runners == {}
    ssm.put_parameter(Name="/team/glrt", Value="glrt-provided", Type="SecureString")
    plan, _ = _apply(spec, registrar)
    assert [a.kind for a in plan.actions] == ["external"]


def test_access_token_reference_missing_in_ssm(ssm: Any) -> None:
    class Ref:
        ssm_parameter = "/runnerfleet/test/gitlab-token"
        env = None

    with pytest.raises(SpecError) as exc:
        resolve_access_token(Ref(), ssm, environ={})
    assert "/runnerfleet/test/gitlab-token does not exist" in str(exc.value)
    ssm.put_parameter(Name=Ref.ssm_parameter, Value="glpat-x", Type="SecureString")
    assert resolve_access_token(Ref(), ssm, environ={}) == "glpat-x"
    with pytest.raises(GitLabError) as unset:
        resolve_access_token(None, environ={})
    assert "GITLAB_TOKEN" in unset.value.message
    assert resolve_access_token(None, environ={"GITLAB_TOKEN": "glpat-y"}) == "glpat-y"


def test_legacy_registration_token_works_with_a_warning(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    """A registration token from the operator's environment is stored for the instances,
    which register with it themselves (POST /runners), as the bootstrap does."""
    standin.state.add_registration_token("GR1348941legacyregtoken", "project_type", 42)
    registrar.environ = {"OLD_TOKEN": "GR1348941legacyregtoken"}
    warnings: list[str] = []
    registrar.warn = warnings.append
    spec = make_spec(
        tmp_path,
        standin.url,
        """\
  - {name: old, type: project, project_id: 42, tags: [a], token: {env: OLD_TOKEN}}
""",
    )
    _, report = _apply(spec, registrar)
    assert len(warnings) == 1 and "deprecated" in warnings[0] and "20.0" in warnings[0]
    assert "GR1348941legacyregtoken" not in warnings[0]
    assert report.created == [("old", None)] and standin.state.runners == {}
    param = ssm.get_parameter(Name=PREFIX + "old", WithDecryption=True)["Parameter"]
    assert (param["Type"], param["Value"]) == ("SecureString", "GR1348941legacyregtoken")
    again, _ = _apply(spec, registrar)
    assert [a.kind for a in again.actions] == ["legacy"] and not again.changes
    instance = connect(standin.url, "unused")  # the instance side: gitlab-runner register
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as disabled:
        instance.runners.create({"token": param["Value"]})
    assert disabled.value.response_code == 410  # disabled by default since GitLab 17.0
    standin.state.allow_registration_tokens = True
    runner = instance.runners.create({"token": param["Value"], "tag_list": ["a"]})
    assert standin.state.runners[runner.id].legacy


def test_legacy_registration_token_provided_in_ssm(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    ssm.put_parameter(Name="/team/reg", Value="GR1348941abcdefgh", Type="SecureString")
    warnings: list[str] = []
    registrar.warn = warnings.append
    spec = make_spec(
        tmp_path,
        standin.url,
        """\
  - {name: old, type: group, group_id: 7, tags: [a], token: {ssm_parameter: /team/reg}}
""",
    )
    plan, _ = _apply(spec, registrar)
    assert [a.kind for a in plan.actions] == ["external"]
    assert len(warnings) == 1 and "deprecated" in warnings[0]


def test_apply_refuses_a_plan_with_problems(registrar: Registrar) -> None:
    from runnerfleet.gitlab.registry import RegistrationPlan

    with pytest.raises(SpecError):
        apply_registration_plan(RegistrationPlan((), ("duplicate",)), registrar)


def test_ssm_write_failure_restores_tokens_and_deletes_new_runners(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    spec = make_spec(tmp_path, standin.url, THREE)
    _apply(spec, registrar)
    before = ssm.get_parameter(Name=PREFIX + "frontend", WithDecryption=True)["Parameter"]
    kept = set(standin.state.runners)
    moved = THREE.replace("project_id: 43", "project_id: 99") + (
        "  - {name: tools, type: project, project_id: 99, tags: [tools]}\n"
    )
    real_write = registrar.store.write

    def write(name: str, *args: Any, **kwargs: Any) -> None:
        if name == "tools":
            raise AwsError("could not store the token of tools: AccessDeniedException")
        real_write(name, *args, **kwargs)

    registrar.store.write = write  # type: ignore[method-assign]
    with pytest.raises(AwsError) as exc:
        _apply(make_spec(tmp_path, standin.url, moved), registrar, "pre")
    assert "rolled back 2 runner(s)" in str(exc.value)
    assert set(standin.state.runners) == kept
    after = ssm.get_parameter(Name=PREFIX + "frontend", WithDecryption=True)["Parameter"]
    assert after["Value"] == before["Value"]
    assert PREFIX + "tools" not in _params(ssm)
    assert json.loads(_params(ssm)[PREFIX + "frontend"]["Description"])["runner_id"] in kept


def test_registrar_repr_shows_no_environment(registrar: Registrar) -> None:
    secret = "glpat-from-the-environment-000"
    shown = dataclasses.replace(registrar, environ={"GITLAB_TOKEN": secret})
    assert secret not in repr(shown)


def test_a_replaced_runner_stays_while_instances_use_it_and_prune_deletes_it_after(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    _apply(make_spec(tmp_path, standin.url, THREE), registrar)
    old = {r.description: r for r in standin.state.runners.values()}[
        f"runnerfleet:{STACK}/frontend (test)"
    ]
    live = "i-0123456789abcdef0"
    body = {"token": old.token, "system_id": system_id_for_instance(live)}
    assert requests.post(f"{standin.url}/api/v4/runners/verify", json=body, timeout=5).ok
    moved = make_spec(tmp_path, standin.url, THREE.replace("project_id: 43", "project_id: 99"))
    plan, report = _apply(moved, registrar, "pre")
    after = apply_registration_plan(plan, registrar, "post", keep_replaced=True)  # refreshing
    assert after.kept == [("frontend", old.id)] and old.id in standin.state.runners
    desired, stored = desired_from_spec(moved), registrar.store.list()
    views = collect(registrar, desired, stored, [live])
    assert find_orphans(registrar, desired, views, stored, [live]) == []  # still runs jobs
    views = collect(registrar, desired, stored, [])  # the refresh replaced the instance
    orphans = find_orphans(registrar, desired, views, stored, [])
    new_id = dict(report.created)["frontend"]
    assert [(o.runner_id, o.reason) for o in orphans] == [
        (old.id, f"replaced by runner {new_id} of frontend")
    ]
    assert apply_prune(plan_prune(views, orphans), registrar).runners_removed == 1
    assert old.id not in standin.state.runners and new_id in standin.state.runners
