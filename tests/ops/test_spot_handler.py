"""Spot interruption and rebalance handling: stop at once, count, retry lost jobs once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from runnerfleet.aws.drain_metrics import CloudWatchCounter
from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.aws.lifecycle_ssm import ActionRecords, DrainCommands
from runnerfleet.drain import JobRef, JobView, jobs_to_retry, parse_job_list, parse_spot_event
from runnerfleet.handlers.drain_support import Clock
from runnerfleet.handlers.gitlab_jobs import GitLabJobs
from runnerfleet.handlers.spot import SpotConfig, SpotDeps, handle_spot
from tests.ops.events import load_event
from tests.ops.stubs import ANY, FakeClock, client, metric, stubbed

T0 = 1795435200.0
INSTANCE = "i-1234567890abcdef0"
CMD = "c0ffee00-1111-2222-3333-444455556666"
CFG = SpotConfig(fleet="dev", group="my-asg", document="dev-spot-stop", retry_lost_jobs=True)
JOBS_LIST = (
    "url=https://gitlab.example.com/acme/app/-/jobs/101 state=running stage=step_script "
    "executor_stage=docker_run duration=30s\n"
    "url=https://gitlab.example.com/acme/app/-/jobs/102 state=running stage=get_sources "
    "executor_stage=docker_run duration=3s\n"
)


class FakeJobs:
    def __init__(self, statuses: dict[int, tuple[str, str | None]]) -> None:
        self.statuses = statuses
        self.calls: list[str] = []

    def owns(self, ref: JobRef) -> bool:
        return ref.url.startswith("https://gitlab.example.com/")

    def job(self, ref: JobRef) -> JobView:
        status, reason = self.statuses[ref.job_id]
        return JobView(ref, status, reason)

    def cancel(self, ref: JobRef) -> None:
        self.calls.append(f"cancel {ref.job_id}")

    def retry(self, ref: JobRef) -> int:
        self.calls.append(f"retry {ref.job_id}")
        return ref.job_id + 1000


def setup(jobs: FakeJobs | None) -> tuple[SpotDeps, Any, Any, Any, FakeClock]:
    ssm, asg, cw = client("ssm"), client("autoscaling"), client("cloudwatch")
    clock = FakeClock(T0 + 1)
    deps = SpotDeps(
        records=ActionRecords(ssm, "/runnerfleet/dev/drain-actions"),
        commands=DrainCommands(ssm),
        membership=LifecycleActions(asg),
        metrics=CloudWatchCounter(cw, "Runnerfleet", "dev"),
        clock=Clock(now=clock.now, sleep=clock.sleep),
        jobs=jobs,
    )
    return deps, ssm, asg, cw, clock


def member(asg_stub: Any, group: str = "my-asg") -> None:
    asg_stub.add_response(
        "describe_auto_scaling_instances",
        {
            "AutoScalingInstances": [
                {
                    "InstanceId": INSTANCE,
                    "AutoScalingGroupName": group,
                    "AvailabilityZone": "us-east-2a",
                    "LifecycleState": "InService",
                    "HealthStatus": "HEALTHY",
                    "ProtectedFromScaleIn": False,
                }
            ]
        },
        {"InstanceIds": [INSTANCE]},
    )


def test_interruption_stops_counts_and_retries_the_lost_jobs_once() -> None:
    jobs = FakeJobs({101: ("running", None), 102: ("failed", "runner_system_failure")})
    deps, ssm, asg, cw, clock = setup(jobs)
    with stubbed(ssm, asg, cw) as (s, a, c):
        member(a)
        s.add_response(
            "put_parameter",
            {"Version": 1},
            {
                "Name": "/runnerfleet/dev/drain-actions/1e5527d7-bb36-4607-3370-4164db56a40e",
                "Value": ANY,
                "Type": "String",
                "Overwrite": False,
            },
        )
        c.add_response("put_metric_data", {}, metric("SpotInterruptionWarnings"))
        s.add_response(
            "send_command",
            {"Command": {"CommandId": CMD}},
            {
                "InstanceIds": [INSTANCE],
                "DocumentName": "dev-spot-stop",
                "Parameters": {},
                "TimeoutSeconds": 60,
                "Comment": "spot interruption",
            },
        )
        s.add_response("put_parameter", {"Version": 2})
        s.add_response("get_command_invocation", {"Status": "InProgress", "ResponseCode": -1})
        s.add_response(
            "get_command_invocation",
            {
                "Status": "Success",
                "StatusDetails": "Success",
                "ResponseCode": 0,
                "StandardOutputContent": JOBS_LIST,
            },
        )
        c.add_response("put_metric_data", {}, {**metric("LostJobsRetried"), "MetricData": ANY})
        out = handle_spot(load_event("spot-interruption-warning"), deps, CFG, T0 + 290)
    assert out["retried"] == 2
    assert jobs.calls == ["cancel 101", "retry 101", "retry 102"]
    assert clock.t >= T0 + 150  # looked at the jobs only after the interruption


def test_rebalance_stops_taking_jobs_without_retrying() -> None:
    jobs = FakeJobs({})
    deps, ssm, asg, cw, _ = setup(jobs)
    with stubbed(ssm, asg, cw) as (s, a, c):
        member(a)
        s.add_response("put_parameter", {"Version": 1})
        c.add_response("put_metric_data", {}, metric("SpotRebalanceRecommendations"))
        s.add_response("send_command", {"Command": {"CommandId": CMD}})
        s.add_response("put_parameter", {"Version": 2})
        out = handle_spot(load_event("rebalance-recommendation"), deps, CFG, T0 + 290)
    assert out == {"status": "stopping", "command_id": CMD} and jobs.calls == []


def test_other_instances_and_repeated_events_do_nothing() -> None:
    deps, ssm, asg, cw, _ = setup(None)
    with stubbed(ssm, asg, cw) as (s, a, _c):
        member(a, group="another-fleet")
        assert handle_spot(load_event("spot-interruption-warning"), deps, CFG, T0 + 60) == {
            "status": "ignored"
        }
        member(a)
        s.add_client_error("put_parameter", "ParameterAlreadyExists")
        s.add_response(
            "get_parameter",
            {
                "Parameter": {
                    "Value": json.dumps(
                        {
                            "token": "x",
                            "instance_id": INSTANCE,
                            "state": "sent",
                            "lease_until": T0 + 900,
                        }
                    )
                }
            },
        )
        assert handle_spot(load_event("spot-interruption-warning"), deps, CFG, T0 + 60) == {
            "status": "duplicate"
        }


def test_unreachable_instance_is_reported() -> None:
    deps, ssm, asg, cw, _ = setup(None)
    with stubbed(ssm, asg, cw) as (s, a, c):
        member(a)
        s.add_response("put_parameter", {"Version": 1})
        c.add_response("put_metric_data", {}, metric("SpotInterruptionWarnings"))
        s.add_client_error("send_command", "InvalidInstanceId")
        c.add_response("put_metric_data", {}, metric("SpotStopFailures"))
        out = handle_spot(load_event("spot-interruption-warning"), deps, CFG, T0 + 60)
    assert out == {"status": "failed"}


def test_short_lambda_timeout_reports_jobs_it_cannot_retry() -> None:
    deps, ssm, asg, cw, _ = setup(FakeJobs({101: ("running", None)}))
    with stubbed(ssm, asg, cw) as (s, a, c):
        member(a)
        s.add_response("put_parameter", {"Version": 1})
        c.add_response("put_metric_data", {}, metric("SpotInterruptionWarnings"))
        s.add_response("send_command", {"Command": {"CommandId": CMD}})
        s.add_response("put_parameter", {"Version": 2})
        s.add_response(
            "get_command_invocation",
            {"Status": "Success", "ResponseCode": 0, "StandardOutputContent": JOBS_LIST},
        )
        c.add_response("put_metric_data", {}, {**metric("LostJobsNotRetried"), "MetricData": ANY})
        out = handle_spot(load_event("spot-interruption-warning"), deps, CFG, T0 + 60)
    assert out["retried"] == 0


def test_parse_job_list_and_pick_jobs_to_retry() -> None:
    refs = parse_job_list(JOBS_LIST + JOBS_LIST)
    assert [(r.project, r.job_id) for r in refs] == [("acme/app", 101), ("acme/app", 102)]
    views = [JobView(refs[0], "success"), JobView(refs[1], "failed", "script_failure")]
    assert jobs_to_retry(views) == ()
    assert parse_spot_event(load_event("terminate-lifecycle-action")) is None
    with pytest.raises(ValueError, match="instance-id"):
        parse_spot_event(load_event("rebalance-recommendation", **{"instance-id": ""}))


class _Api(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, str | None]]] = []

    def do_GET(self) -> None:
        self._answer({"id": 101, "status": "running", "failure_reason": None})

    def do_POST(self) -> None:
        self._answer({"id": 999})

    def _answer(self, body: dict[str, Any]) -> None:
        self.seen.append((self.command, self.path, self.headers.get("PRIVATE-TOKEN")))
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gitlab() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_gitlab_jobs_client_talks_to_the_configured_url_only(gitlab: str) -> None:
    api = GitLabJobs(gitlab, "glpat-testtoken-not-real")
    ref = JobRef("acme/app", 101, f"{gitlab}/acme/app/-/jobs/101")
    assert api.owns(ref)
    assert not api.owns(JobRef("acme/app", 1, "https://evil.example.com/acme/app/-/jobs/1"))
    assert api.job(ref).status == "running"
    api.cancel(ref)
    assert api.retry(ref) == 999
    assert [m for m, _, _ in _Api.seen[-3:]] == ["GET", "POST", "POST"]
    assert _Api.seen[-1][1] == "/api/v4/projects/acme%2Fapp/jobs/101/retry"
    assert _Api.seen[-1][2] == "glpat-testtoken-not-real"


def test_without_a_spot_document_the_stop_runs_through_aws_run_shell_script() -> None:
    deps, ssm, asg, cw, _ = setup(None)
    cfg = SpotConfig(fleet="dev", group="my-asg", document="")
    with stubbed(ssm, asg, cw) as (s, a, c):
        member(a)
        s.add_response("put_parameter", {"Version": 1})
        c.add_response("put_metric_data", {}, metric("SpotRebalanceRecommendations"))
        s.add_response(
            "send_command",
            {"Command": {"CommandId": CMD}},
            {
                "InstanceIds": [INSTANCE],
                "DocumentName": "AWS-RunShellScript",
                "Parameters": {"commands": [ANY]},
                "TimeoutSeconds": 60,
                "Comment": "spot rebalance",
            },
        )
        s.add_response("put_parameter", {"Version": 2})
        assert (
            handle_spot(load_event("rebalance-recommendation"), deps, cfg, T0 + 60)["status"]
            == "stopping"
        )
    env = {"RUNNERFLEET_FLEET": "dev", "RUNNERFLEET_GROUP": "g"}
    assert SpotConfig.from_env(env).document == ""
