"""list and prune: managers matched to live instances by system_id; leftovers removed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from runnerfleet.gitlab.apply import Registrar, apply_registration_plan, gather_existing
from runnerfleet.gitlab.inventory import (
    STACK_GONE,
    apply_prune,
    collect,
    find_orphans,
    plan_prune,
    plan_teardown,
)
from runnerfleet.gitlab.registry import desired_from_spec, plan_registrations
from runnerfleet.sandbox.standin import GitLabStandIn
from runnerfleet.stack.system_id import system_id_for_instance
from tests.gitlab.conftest import STACK, THREE, make_spec

LIVE = "i-0123456789abcdef0"
DEAD = "i-0fedcba9876543210"


def _verify(standin: GitLabStandIn, token: str, instance_id: str) -> None:
    body = {
        "token": token,
        "system_id": system_id_for_instance(instance_id),
        "info": {"version": "17.11.1"},
    }
    response = requests.post(f"{standin.url}/api/v4/runners/verify", json=body, timeout=5)
    assert response.status_code == 200


def _setup(tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any) -> Any:
    spec = make_spec(tmp_path, standin.url, THREE)
    plan = plan_registrations(desired_from_spec(spec), gather_existing(registrar))
    apply_registration_plan(plan, registrar)

    def token(name: str) -> str:
        param = ssm.get_parameter(Name=f"/runnerfleet/{STACK}/runners/{name}", WithDecryption=True)
        return str(param["Parameter"]["Value"])

    for name in ("backend", "frontend"):
        _verify(standin, token(name), LIVE)
    _verify(standin, token("backend"), DEAD)
    return spec


def test_list_matches_managers_to_live_instances(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    spec = _setup(tmp_path, standin, registrar, ssm)
    views = collect(registrar, desired_from_spec(spec), registrar.store.list(), [LIVE])
    by_name = {v.name: v for v in views}
    assert by_name["backend"].status == "online"
    assert by_name["platform"].status == "never_contacted" and by_name["platform"].managers == ()
    managers = {m.system_id: m for m in by_name["backend"].managers}
    assert managers[system_id_for_instance(LIVE)].instance_id == LIVE
    assert managers[system_id_for_instance(DEAD)].instance_id is None
    assert managers[system_id_for_instance(LIVE)].version == "17.11.1"
    assert managers[system_id_for_instance(LIVE)].contacted_at


def test_prune_removes_dead_managers_and_orphans(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    _setup(tmp_path, standin, registrar, ssm)
    leftover = standin.state.create_runner(
        {
            "runner_type": "project_type",
            "project_id": 42,
            "description": f"runnerfleet:{STACK}/x (test)",
        }
    )
    foreign = standin.state.create_runner(
        {"runner_type": "project_type", "project_id": 42, "description": "someone else's runner"}
    )
    smaller = make_spec(tmp_path, standin.url, THREE.split("\n", 1)[1])  # backend removed
    desired = desired_from_spec(smaller)
    stored = registrar.store.list()
    views = collect(registrar, desired, stored, [LIVE])
    orphans = find_orphans(registrar, desired, views, stored)
    plan = plan_prune(views, orphans)
    assert [(v.name, m.system_id) for v, m in plan.managers] == []  # dead one is on backend
    assert {o.runner_id: o.reason for o in plan.runners} == {
        views[-1].runner_id: "removed from the file",
        leftover.id: "no SSM token: left by a failed run",
    }
    report = apply_prune(plan, registrar)
    assert (report.runners_removed, report.failures) == (2, [])
    assert leftover.id not in standin.state.runners and foreign.id in standin.state.runners
    assert f"/runnerfleet/{STACK}/runners/backend" not in {
        p["Name"] for p in ssm.describe_parameters()["Parameters"]
    }


def test_prune_removes_managers_of_dead_instances(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    spec = _setup(tmp_path, standin, registrar, ssm)
    desired = desired_from_spec(spec)
    views = collect(registrar, desired, registrar.store.list(), [LIVE])
    plan = plan_prune(views, find_orphans(registrar, desired, views))
    assert [(v.name, m.system_id) for v, m in plan.managers] == [
        ("backend", system_id_for_instance(DEAD))
    ]
    assert plan.runners == ()
    report = apply_prune(plan, registrar)
    assert report.managers_removed == 1
    left = [m.system_id for m in standin.state.managers.values()]
    assert sorted(left) == [system_id_for_instance(LIVE)] * 2
    after = collect(registrar, desired, registrar.store.list(), [LIVE])
    assert plan_prune(after, []).empty


def test_teardown_after_destroy_deletes_every_runner_and_token_of_the_stack(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    spec = _setup(tmp_path, standin, registrar, ssm)
    gone = next(s for s in registrar.store.list() if s.name == "platform")
    del standin.state.runners[gone.runner_id]  # deleted by hand: only its token is left
    desired, stored = desired_from_spec(spec), registrar.store.list()
    views = collect(registrar, desired, stored, [])
    plan = plan_teardown(views, find_orphans(registrar, desired, views, stored), stored)
    assert sorted((o.description, o.reason) for o in plan.runners) == [
        ("backend", STACK_GONE),
        ("frontend", STACK_GONE),
    ]
    assert plan.tokens == (gone.parameter,)
    report = apply_prune(plan, registrar)
    assert (report.runners_removed, report.tokens_removed, report.failures) == (2, 3, [])
    assert report.summary().startswith("2 runner(s) deleted in GitLab, 3 token parameter(s)")
    assert standin.state.runners == {} and registrar.store.list() == []


def test_list_shows_legacy_and_missing_tokens(
    tmp_path: Path, standin: GitLabStandIn, registrar: Registrar, ssm: Any
) -> None:
    ssm.put_parameter(Name="/team/reg", Value="GR1348941abcdefgh", Type="SecureString")
    spec = make_spec(
        tmp_path,
        standin.url,
        """\
  - {name: old, type: group, group_id: 7, tags: [a], token: {ssm_parameter: /team/reg}}
  - {name: byo, type: group, group_id: 7, tags: [a], token: {ssm_parameter: /team/none}}
  - {name: later, type: project, project_id: 42, tags: [a]}
""",
    )
    views = collect(registrar, desired_from_spec(spec), registrar.store.list(), [LIVE])
    assert [(v.name, v.status) for v in views] == [
        ("old", "legacy registration token (each instance registers itself)"),
        ("byo", "token missing"),
        ("later", "not created"),
    ]
