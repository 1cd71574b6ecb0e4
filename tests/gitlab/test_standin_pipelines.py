"""The stand-in's pipelines, job traces, lost runners and `GET /runners/all`, driven by
python-gitlab (user API) and plain HTTP (runner API), as any client would."""

from __future__ import annotations

import gitlab
import gitlab.exceptions
import pytest
import requests
from gitlab.v4.objects import CurrentUserRunnerManager

from runnerfleet.sandbox.standin import GitLabStandIn, StandInState
from runnerfleet.sandbox.standin.pipelines import JOBS_VARIABLE, SECONDS_VARIABLE, TAGS_VARIABLE
from tests.gitlab.conftest import ADMIN_PAT, PAT, READ_ONLY_PAT

SYSTEM_ID = "r_0123456789ab"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lossy(clock: Clock) -> GitLabStandIn:
    """A stand-in that fails the jobs of runners silent for 30 s, with a clock we move."""
    state = StandInState(clock, auto_targets=True, lost_after_s=30.0)
    state.add_access_token(ADMIN_PAT, scopes=("api",), admin=True)
    state.add_access_token(READ_ONLY_PAT, scopes=("read_api",))
    return GitLabStandIn(state)


def _vars(**values: str) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def _runner(standin: GitLabStandIn, gl: gitlab.Gitlab, tags: list[str]) -> str:
    created = CurrentUserRunnerManager(gl).create(
        {"runner_type": "project_type", "project_id": 42, "tag_list": tags, "run_untagged": False}
    )
    body = {"token": created.token, "system_id": SYSTEM_ID}
    requests.post(f"{standin.url}/api/v4/runners/verify", json=body, timeout=5)
    return str(created.token)


def _pick(standin: GitLabStandIn, token: str) -> dict:
    body = {"token": token, "system_id": SYSTEM_ID}
    answer = requests.post(f"{standin.url}/api/v4/jobs/request", json=body, timeout=5)
    assert answer.status_code == 201
    return answer.json()


def test_a_pipeline_makes_its_jobs_from_its_variables(
    standin: GitLabStandIn, gl: gitlab.Gitlab
) -> None:
    admin = gitlab.Gitlab(standin.url, private_token=ADMIN_PAT)
    project = admin.projects.get(42)
    variables = _vars(**{JOBS_VARIABLE: "3", SECONDS_VARIABLE: "45", TAGS_VARIABLE: "docker"})
    pipeline = project.pipelines.create({"ref": "main", "variables": variables})
    assert pipeline.status == "pending" and pipeline.ref == "main"
    jobs = pipeline.jobs.list(get_all=True)
    assert len(jobs) == 3 and all(j.status == "pending" for j in jobs)
    assert all(j.tag_list == ["docker"] and j.runner_manager is None for j in jobs)
    token = _runner(standin, gl, ["docker"])
    payload = _pick(standin, token)
    variables_seen = {v["key"]: v["value"] for v in payload["variables"]}
    assert float(variables_seen["RUNNERFLEET_JOB_DURATION"]) == 45
    assert project.pipelines.get(pipeline.id).status == "running"
    picked = next(j for j in pipeline.jobs.list(get_all=True) if j.id == payload["id"])
    assert picked.runner_manager == {"system_id": SYSTEM_ID}
    assert picked.pipeline["id"] == pipeline.id
    assert [p.id for p in project.pipelines.list(get_all=True)] == [pipeline.id]


def test_a_pipeline_with_bad_variables_is_refused_like_gitlab(standin: GitLabStandIn) -> None:
    project = gitlab.Gitlab(standin.url, private_token=ADMIN_PAT).projects.get(42)
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as bad:
        project.pipelines.create({"ref": "main", "variables": _vars(**{JOBS_VARIABLE: "lots"})})
    assert bad.value.response_code == 400 and JOBS_VARIABLE in str(bad.value)
    with pytest.raises(gitlab.exceptions.GitlabCreateError):
        project.pipelines.create({"ref": "main", "variables": _vars(**{JOBS_VARIABLE: "5000"})})
    no_ref = requests.post(
        f"{standin.url}/api/v4/projects/42/pipeline",
        json={"variables": []},
        headers={"PRIVATE-TOKEN": ADMIN_PAT},
        timeout=5,
    )
    assert no_ref.status_code == 400 and "ref is missing" in no_ref.text
    read_only = gitlab.Gitlab(standin.url, private_token=READ_ONLY_PAT).projects.get(42)
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as denied:
        read_only.pipelines.create({"ref": "main"})
    assert denied.value.response_code == 403
    with pytest.raises(gitlab.exceptions.GitlabGetError) as missing:
        project.pipelines.get(999_999)
    assert missing.value.response_code == 404


def test_jobs_of_a_silent_runner_fail_as_a_runner_system_failure(
    lossy: GitLabStandIn, clock: Clock
) -> None:
    with lossy:
        admin = gitlab.Gitlab(lossy.url, private_token=ADMIN_PAT)
        project = admin.projects.get(42)
        pipeline = project.pipelines.create(
            {"ref": "main", "variables": _vars(**{JOBS_VARIABLE: "2", TAGS_VARIABLE: "docker"})}
        )
        token = _runner(lossy, admin, ["docker"])
        alive, dead = _pick(lossy, token), _pick(lossy, token)
        clock.now += 20
        trace = requests.patch(
            f"{lossy.url}/api/v4/jobs/{alive['id']}/trace",
            data=b"step 1 of 3\n",
            headers={"JOB-TOKEN": alive["token"], "Content-Range": "0-11"},
            timeout=5,
        )
        assert trace.status_code == 202
        clock.now += 20  # 40 s since the dead job's last sign of life, 20 s for the other
        jobs = {j.id: j for j in pipeline.jobs.list(get_all=True)}
        assert jobs[dead["id"]].status == "failed"
        assert jobs[dead["id"]].failure_reason == "runner_system_failure"
        assert jobs[alive["id"]].status == "running"
        late = requests.put(
            f"{lossy.url}/api/v4/jobs/{dead['id']}",
            json={"token": dead["token"], "state": "success"},
            timeout=5,
        )
        assert late.status_code == 403  # GitLab: the job is no longer running
        wrong = requests.patch(
            f"{lossy.url}/api/v4/jobs/{alive['id']}/trace",
            data=b"x",
            headers={"JOB-TOKEN": "glcbt-not-this-one"},
            timeout=5,
        )
        assert wrong.status_code == 403
        assert project.pipelines.get(pipeline.id).status == "running"


def test_all_runners_is_for_administrators(standin: GitLabStandIn, gl: gitlab.Gitlab) -> None:
    _runner(standin, gl, ["docker"])
    admin = gitlab.Gitlab(standin.url, private_token=ADMIN_PAT)
    every = admin.runners_all.list(get_all=True)
    assert len(every) == 1 and every[0].runner_type == "project_type"
    assert admin.runners_all.list(type="instance_type", get_all=True) == []
    with pytest.raises(gitlab.exceptions.GitlabListError) as denied:
        gitlab.Gitlab(standin.url, private_token=PAT).runners_all.list(get_all=True)
    assert denied.value.response_code == 403
