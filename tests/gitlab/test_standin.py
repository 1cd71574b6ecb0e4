"""The stand-in, driven by python-gitlab (user API) and plain HTTP (runner API)."""

from __future__ import annotations

import gitlab
import gitlab.exceptions
import pytest
import requests
from gitlab.v4.objects import CurrentUserRunnerManager

from runnerfleet.errors import SandboxError
from runnerfleet.sandbox.standin import GitLabStandIn, StandInState
from tests.gitlab.conftest import ADMIN_PAT, PAT, READ_ONLY_PAT


def _create(gl: gitlab.Gitlab, **params: object) -> object:
    return CurrentUserRunnerManager(gl).create(params)


def _runner_api(standin: GitLabStandIn, method: str, path: str, body: dict) -> requests.Response:
    return requests.request(method, f"{standin.url}/api/v4{path}", json=body, timeout=5)


def test_user_runner_creation_returns_glrt_token_and_stores_settings(gl: gitlab.Gitlab) -> None:
    created = _create(
        gl,
        runner_type="project_type",
        project_id=42,
        tag_list=["docker", "x"],
        run_untagged=False,
        locked=True,
        access_level="ref_protected",
        maximum_timeout=3600,
        description="runnerfleet:s/backend (dev)",
    )
    assert created.token.startswith("glrt-")
    assert created.token_expires_at is None
    runner = gl.runners.get(created.id)
    assert runner.tag_list == ["docker", "x"]
    assert (runner.access_level, runner.maximum_timeout) == ("ref_protected", 3600)
    assert (runner.run_untagged, runner.locked, runner.runner_type) == (False, True, "project_type")
    assert runner.status == "never_contacted"
    assert [p["id"] for p in runner.projects] == [42]


def test_auth_failures_have_gitlab_status_codes(standin: GitLabStandIn) -> None:
    bad = gitlab.Gitlab(standin.url, private_token="glpat-wrong")
    with pytest.raises(gitlab.exceptions.GitlabAuthenticationError) as exc:
        bad.projects.get(42)
    assert exc.value.response_code == 401
    read_only = gitlab.Gitlab(standin.url, private_token=READ_ONLY_PAT)
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as denied:
        _create(read_only, runner_type="project_type", project_id=42)
    assert denied.value.response_code == 403
    assert "insufficient_scope" in str(denied.value.error_message)
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as not_admin:
        _create(gitlab.Gitlab(standin.url, private_token=PAT), runner_type="instance_type")
    assert not_admin.value.response_code == 403
    admin = gitlab.Gitlab(standin.url, private_token=ADMIN_PAT)
    assert _create(admin, runner_type="instance_type").token.startswith("glrt-")


def test_unknown_project_and_group(gl: gitlab.Gitlab) -> None:
    with pytest.raises(gitlab.exceptions.GitlabGetError) as exc:
        gl.projects.get(4242)
    assert exc.value.response_code == 404
    with pytest.raises(gitlab.exceptions.GitlabListError) as listing:
        gl.groups.get(777, lazy=True).runners.list(get_all=True)
    assert listing.value.response_code == 404
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as create:
        _create(gl, runner_type="project_type", project_id=4242)
    assert create.value.response_code == 400


def test_project_runner_list_paginates_and_filters(gl: gitlab.Gitlab) -> None:
    for _ in range(23):
        _create(gl, runner_type="group_type", group_id=7, tag_list=["g"])
    _create(gl, runner_type="project_type", project_id=42, tag_list=["p"])
    _create(gl, runner_type="project_type", project_id=99)
    project = gl.projects.get(42, lazy=True)
    assert len(project.runners.list(get_all=True)) == 24
    assert len(project.runners.list(per_page=20, get_all=False)) == 20
    assert [r.runner_type for r in project.runners.list(get_all=True, type="project_type")] == [
        "project_type"
    ]
    assert len(gl.groups.get(7, lazy=True).runners.list(get_all=True, tag_list="g")) == 23


def test_verify_creates_manager_and_managers_delete(
    standin: GitLabStandIn, gl: gitlab.Gitlab
) -> None:
    created = _create(gl, runner_type="project_type", project_id=42, tag_list=["a"])
    body = {
        "token": created.token,
        "system_id": "s_0123456789ab",
        "info": {"version": "17.11.1", "architecture": "amd64"},
    }
    verified = _runner_api(standin, "POST", "/runners/verify", body)
    assert verified.status_code == 200
    assert verified.json()["id"] == created.id
    managers = gl.http_get(f"/runners/{created.id}/managers")
    assert [(m["system_id"], m["version"], m["status"]) for m in managers] == [
        ("s_0123456789ab", "17.11.1", "online")
    ]
    assert gl.runners.get(created.id).status == "online"
    gone = {"token": created.token, "system_id": "s_0123456789ab"}
    assert _runner_api(standin, "DELETE", "/runners/managers", gone).status_code == 204
    assert _runner_api(standin, "DELETE", "/runners/managers", gone).status_code == 404
    assert (
        _runner_api(standin, "POST", "/runners/verify", {"token": "glrt-nope"}).status_code == 403
    )
    assert _runner_api(standin, "DELETE", "/runners", {"token": created.token}).status_code == 204
    with pytest.raises(gitlab.exceptions.GitlabGetError):
        gl.runners.get(created.id)


def test_runner_delete_by_id_needs_manage_scope(standin: GitLabStandIn, gl: gitlab.Gitlab) -> None:
    created = _create(gl, runner_type="project_type", project_id=42, tag_list=["a"])
    read_only = gitlab.Gitlab(standin.url, private_token=READ_ONLY_PAT)
    with pytest.raises(gitlab.exceptions.GitlabDeleteError) as exc:
        read_only.runners.delete(created.id)
    assert exc.value.response_code == 403
    gl.runners.delete(created.id)
    assert created.id not in standin.state.runners


def test_jobs_are_picked_by_tag_and_updated(standin: GitLabStandIn, gl: gitlab.Gitlab) -> None:
    tagged = _create(gl, runner_type="project_type", project_id=42, tag_list=["docker", "big"])
    other = _create(gl, runner_type="project_type", project_id=42, tag_list=["gpu"])
    job = standin.enqueue_job(42, tags=["docker"], duration=2.5)
    project = gl.projects.get(42, lazy=True)
    assert [j.id for j in project.jobs.list(scope=["pending"], get_all=True)] == [job.id]
    assert [j.tag_list for j in project.jobs.list(scope="pending")] == [["docker"]]
    miss = _runner_api(
        standin, "POST", "/jobs/request", {"token": other.token, "system_id": "s_aaaaaaaaaaaa"}
    )
    assert miss.status_code == 204
    hit = _runner_api(
        standin, "POST", "/jobs/request", {"token": tagged.token, "system_id": "s_bbbbbbbbbbbb"}
    )
    assert hit.status_code == 201
    payload = hit.json()
    assert payload["id"] == job.id and payload["job_info"]["project_id"] == 42
    assert {
        "key": "RUNNERFLEET_JOB_DURATION",
        "value": "2.5",
        "public": True,
        "masked": False,
    } in payload["variables"]
    assert project.jobs.list(scope=["pending"]) == []
    running = project.jobs.list(scope=["running"])
    assert running[0].runner_manager["system_id"] == "s_bbbbbbbbbbbb"
    bad = _runner_api(standin, "PUT", f"/jobs/{job.id}", {"token": "x", "state": "success"})
    assert bad.status_code == 403
    done = _runner_api(
        standin, "PUT", f"/jobs/{job.id}", {"token": payload["token"], "state": "success"}
    )
    assert done.status_code == 200
    assert standin.state.jobs[job.id].status == "success"


def test_untagged_jobs_need_run_untagged(standin: GitLabStandIn, gl: gitlab.Gitlab) -> None:
    strict = _create(gl, runner_type="group_type", group_id=7, tag_list=["a"], run_untagged=False)
    loose = _create(gl, runner_type="group_type", group_id=7, tag_list=["a"], run_untagged=True)
    standin.enqueue_job(43)
    standin.enqueue_job(99)  # not in group 7
    assert _runner_api(standin, "POST", "/jobs/request", {"token": strict.token}).status_code == 204
    assert _runner_api(standin, "POST", "/jobs/request", {"token": loose.token}).status_code == 201
    assert _runner_api(standin, "POST", "/jobs/request", {"token": loose.token}).status_code == 204


def test_status_follows_contact_age() -> None:
    now = [1_000_000.0]
    state = StandInState(clock=lambda: now[0])
    state.add_project(1, "a/b")
    runner = state.create_runner({"runner_type": "project_type", "project_id": 1})
    state.touch_manager(runner, "s_000000000001")
    assert state.status(runner) == "online"
    now[0] += 2 * 3600 + 1
    assert state.status(runner) == "offline"
    now[0] += 7 * 24 * 3600
    assert state.status(runner) == "stale"


def test_legacy_registration_tokens(standin: GitLabStandIn, gl: gitlab.Gitlab) -> None:
    standin.state.add_registration_token("GR1348941legacy", "project_type", 42)
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as exc:
        gl.runners.create({"token": "GR1348941legacy"})
    assert exc.value.response_code == 410
    standin.state.allow_registration_tokens = True
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as wrong:
        gl.runners.create({"token": "GR1348941wrong"})
    assert wrong.value.response_code == 403
    runner = gl.runners.create({"token": "GR1348941legacy", "tag_list": ["old"]})
    assert not runner.token.startswith("glrt-")
    assert gl.runners.get(runner.id).tag_list == ["old"]


def test_standin_refuses_non_loopback_and_stops() -> None:
    with pytest.raises(SandboxError):
        GitLabStandIn(host="0.0.0.0")
    server = GitLabStandIn().start()
    url = server.url
    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/api/v4/user", timeout=2)


def test_pending_counter_reads_the_standin_across_pages(standin: GitLabStandIn) -> None:
    """The autoscaler's pending-jobs reader walks X-Next-Page over the stand-in's pages."""
    from runnerfleet.gitlab.pending import PendingQuery, count_pending_sync

    for i in range(130):
        standin.enqueue_job(42 if i % 2 else 43, tags=["docker"] if i % 3 else ["gpu"])
    standin.enqueue_job(42)  # untagged
    query = PendingQuery(standin.url, (42, 43), frozenset({"docker"}), per_page=20)
    expected = sum(1 for i in range(130) if i % 3)
    assert count_pending_sync(query, PAT).count == expected
    untagged = PendingQuery(standin.url, (42,), frozenset({"docker"}), run_untagged=True)
    assert count_pending_sync(untagged, PAT).count == sum(1 for i in range(1, 130, 2) if i % 3) + 1
    assert count_pending_sync(query, "glpat-wrong").count is None


def test_standin_runs_as_a_process_for_the_sandbox(tmp_path: object) -> None:
    import subprocess
    import sys
    import time
    from pathlib import Path

    from runnerfleet.sandbox.standin import SANDBOX_ACCESS_TOKEN

    ready = Path(str(tmp_path)) / "url"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runnerfleet.sandbox.standin",
            "--ready-file",
            str(ready),
            "--lifetime-s",
            "60",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # up to 30 s: a loaded CI machine starts Python slowly
            if ready.exists() and ready.read_text().strip():
                break
            time.sleep(0.05)
        url = ready.read_text().strip()
        assert url.startswith("http://127.0.0.1:")
        gl = gitlab.Gitlab(url, private_token=SANDBOX_ACCESS_TOKEN)
        created = _create(gl, runner_type="project_type", project_id=1234, tag_list=["x"])
        assert created.token.startswith("glrt-")  # unknown ids exist on first use
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_strict_and_auto_targets() -> None:
    auto = StandInState(auto_targets=True)
    assert auto.project(5).path == "sandbox/project-5"
    with pytest.raises(Exception) as exc:
        StandInState().project(5)
    assert getattr(exc.value, "status", None) == 404


def test_reprs_never_show_a_token() -> None:
    from runnerfleet.sandbox.standin.jobs import enqueue_job

    state = StandInState()
    pat = state.add_access_token("glpat-repr-check-000000")
    state.add_project(7, "acme/app")
    runner = state.create_runner({"runner_type": "project_type", "project_id": 7})
    job = enqueue_job(state, 7)
    assert job.token  # the job has a token, it is just not shown
    for thing, secret in ((pat, pat.value), (runner, runner.token), (job, job.token)):
        assert secret not in repr(thing)
