"""One evaluation over a warm group and its spot overflow group, through moto."""

from __future__ import annotations

import json
from types import SimpleNamespace

from runnerfleet.aws.clients import ClientFactory
from runnerfleet.ops import autoscale_env as ah
from runnerfleet.ops.autoscale import Evaluation
from runnerfleet.ops.fleet_view import _view
from tests.autoscaler.conftest import Group, make_group
from tests.autoscaler.runner_server import Endpoint, render_metrics, runner_server
from tests.ops.conftest import validator


def _env(warm: str, spot: str, idle_count: int) -> dict[str, str]:
    scaling = {"policy": "idle", "idle_count": idle_count, "idle_time_s": 0, "cooldown_s": 0}
    return {
        ah.ENV_ASG: warm,
        ah.ENV_OVERFLOW: spot,
        ah.ENV_STACK: "stack-overflow",
        ah.ENV_SCALING: json.dumps({"scaling": scaling, "concurrent": 4, "tags": ["docker"]}),
        ah.ENV_TIMEOUT: "1",
        ah.ENV_DEADLINE: "3",
        ah.ENV_PUBLISH: "false",
    }


def _desired(aws: ClientFactory, name: str) -> int:
    found = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return int(found["AutoScalingGroups"][0]["DesiredCapacity"])


def _evaluate(aws: ClientFactory, warm: Group, spot: Group, idle_count: int) -> Evaluation:
    """The warm group's one instance runs 4 jobs; every spot instance is idle."""
    (busy,) = warm.ids
    with runner_server() as server:
        hosts = {busy: server.add("127.0.0.1", 0, Endpoint(render_metrics(4)))}
        hosts |= {i: server.add("127.0.0.1", 0, Endpoint(render_metrics(0))) for i in spot.ids}
        env = _env(warm.name, spot.name, idle_count)
        return ah.run_from_env(env, aws, lambda i, _ip: hosts[i])


def test_the_environment_names_the_overflow_group() -> None:
    assert ah.config_from_env(_env("w", "s", 0)).overflow_group == "s"
    env = _env("w", "s", 0)
    del env[ah.ENV_OVERFLOW]
    assert ah.config_from_env(env).overflow_group is None


def test_scale_out_fills_the_warm_group_then_the_spot_group(aws: ClientFactory) -> None:
    warm = make_group(aws, desired=1, max_size=2)
    spot = make_group(aws, desired=0, max_size=8)
    summary = _evaluate(aws, warm, spot, 12).summary()
    assert summary["action"] == "scale_out" and summary["desired"] == 4  # 1 busy + 12 slots / 4
    assert summary["group"] == warm.name and summary["errors"] == []
    assert (_desired(aws, warm.name), _desired(aws, spot.name)) == (2, 2)


def test_scale_in_takes_idle_spot_instances_out_of_their_own_group(aws: ClientFactory) -> None:
    warm = make_group(aws, desired=1, max_size=2)
    spot = make_group(aws, desired=2, max_size=8)
    evaluation = _evaluate(aws, warm, spot, 0)
    gone = evaluation.decision.terminate
    assert gone and set(gone) <= set(spot.ids)  # the decision paces scale-in; spot goes
    assert evaluation.report is not None and evaluation.report.errors == []
    assert (_desired(aws, warm.name), _desired(aws, spot.name)) == (1, 2 - len(gone))


def test_the_fleet_view_shows_both_groups_and_each_instances_group(aws: ClientFactory) -> None:
    warm = make_group(aws, desired=1, max_size=2)
    spot = make_group(aws, desired=2, max_size=8)
    evaluation = _evaluate(aws, warm, spot, 12)  # a dry run would decide the same
    parts = {p.name: p for p in evaluation.group.parts}
    assert list(parts) == [warm.name, spot.name]
    assert parts[spot.name].instance_ids == frozenset(spot.ids)
    spec = SimpleNamespace(name="warm-spot", stack="stack-overflow")
    target = SimpleNamespace(location=lambda: "us-east-1 (emulated)")
    view = _view(spec, target, evaluation, managers=None, decisions=(), alarms=(), notes=())  # type: ignore[arg-type]
    document = view.to_json()
    validator("fleet").validate(document)
    assert [(g["name"], g["max"]) for g in document["groups"]] == [(warm.name, 2), (spot.name, 8)]
    owners = {row["instance_id"]: row["group"] for row in document["instances"]}
    assert owners == {warm.ids[0]: warm.name, **dict.fromkeys(spot.ids, spot.name)}
