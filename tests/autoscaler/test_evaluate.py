"""One whole evaluation against moto and fake runners on loopback: observe, decide, apply."""

from __future__ import annotations

from runnerfleet.aws.autoscale_metrics import CloudWatchSink
from runnerfleet.aws.autoscaling import AutoScalingAdapter
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.gitlab.scrape import ScrapeSettings
from runnerfleet.ops.autoscale import (
    Evaluation,
    EvaluationConfig,
    HttpRunners,
    MetricsSink,
    evaluate,
)
from runnerfleet.scaling import HeadroomPolicy, IdlePolicy, ReasonCode
from runnerfleet.scaling import metric_names as mn
from tests.autoscaler.conftest import Group, instance_ids, make_group
from tests.autoscaler.runner_server import Endpoint, render_metrics, runner_server

FAST = ScrapeSettings(timeout_s=1.0, deadline_s=3.0)


def _adapter(aws: ClientFactory, hosts: dict[str, str]) -> AutoScalingAdapter:
    return AutoScalingAdapter(
        aws.client("autoscaling"), aws.client("ec2"), lambda iid, _ip: hosts.get(iid)
    )


def _evaluate(
    config: EvaluationConfig,
    adapter: AutoScalingAdapter,
    now: float,
    metrics: MetricsSink | None = None,
) -> Evaluation:
    runners = HttpRunners(config.scrape, config.pending, None)
    return evaluate(config, adapter, runners, metrics=metrics, clock=lambda: now)


def test_idle_runner_removed_busy_and_unreachable_ones_kept(
    aws: ClientFactory, group3: Group
) -> None:
    busy, idle, dead = group3.ids
    policy = IdlePolicy(idle_count=0, idle_time_s=0, cooldown_s=0)
    config = EvaluationConfig(group3.name, "stack-e2e", policy, FAST)
    with runner_server() as server:
        hosts = {
            busy: server.add("127.0.0.1", 0, Endpoint(render_metrics(3))),
            idle: server.add("127.0.0.1", 0, Endpoint(render_metrics(0))),
            dead: server.add("127.0.0.1", 0, Endpoint(mode="error")),
        }
        cw = aws.client("cloudwatch")
        sink = CloudWatchSink(cw, "stack-e2e", group3.name, mn.NAMESPACE)
        result = _evaluate(config, _adapter(aws, hosts), 5000.0, sink)
    assert result.decision.action == "scale_in"
    assert result.decision.terminate == (idle,)
    assert result.report is not None and result.report.errors == []
    assert instance_ids(aws, group3.name) == sorted([busy, dead])
    assert result.scrape_failures == 1
    assert ReasonCode.METRICS_MISSING in result.decision.codes
    metrics = cw.list_metrics(Namespace=mn.NAMESPACE)["Metrics"]
    stacks = {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == mn.DIM_STACK}
    assert "stack-e2e" in stacks


def test_failed_scrapes_never_scale_in_blind(aws: ClientFactory, group3: Group) -> None:
    # the seed counted a failed scrape as zero jobs and removed instances; we keep them
    policy = HeadroomPolicy(concurrent=4, headroom_jobs=0, cooldown_s=0)
    config = EvaluationConfig(group3.name, "stack-e2e", policy, FAST)
    hosts = dict.fromkeys(group3.ids, "127.0.0.1:1")  # nothing listens there
    result = _evaluate(config, _adapter(aws, hosts), 5000.0)
    assert result.decision.terminate == () and result.decision.desired == 3
    assert sorted(result.decision.protect) == group3.ids
    assert len(instance_ids(aws, group3.name)) == 3


def test_idle_clock_starts_on_first_idle_sighting(aws: ClientFactory) -> None:
    group = make_group(aws, desired=1)
    policy = IdlePolicy(idle_count=0, idle_time_s=600, cooldown_s=0)
    config = EvaluationConfig(group.name, "stack-e2e", policy, FAST)
    with runner_server() as server:
        hosts = {group.ids[0]: server.add("127.0.0.1", 0, Endpoint(render_metrics(0)))}
        first = _evaluate(config, _adapter(aws, hosts), 10_000.0)
        assert first.decision.action == "hold"  # idle, but only since now
        early = _evaluate(config, _adapter(aws, hosts), 10_300.0)
        assert early.decision.action == "hold"
        late = _evaluate(config, _adapter(aws, hosts), 10_601.0)
    assert late.decision.action == "scale_in" and late.decision.desired == 0
    assert instance_ids(aws, group.name) == []


def test_dry_run_changes_nothing(aws: ClientFactory, group3: Group) -> None:
    policy = IdlePolicy(idle_count=0, idle_time_s=0, cooldown_s=0)
    config = EvaluationConfig(group3.name, "stack-e2e", policy, FAST, dry_run=True)
    with runner_server() as server:
        hosts = {i: server.add("127.0.0.1", 0, Endpoint(render_metrics(0))) for i in group3.ids}
        result = _evaluate(config, _adapter(aws, hosts), 5000.0)
    assert result.decision.action == "scale_in" and result.report is None
    assert len(instance_ids(aws, group3.name)) == 3
