"""The Auto Scaling adapter against moto (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from runnerfleet.aws.autoscale_metrics import metric_data, publish
from runnerfleet.aws.autoscaling import AutoScalingAdapter
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.scaling import LifecycleState, ScalingDecision
from runnerfleet.scaling import metric_names as mn
from runnerfleet.scaling.apply import TAG_IDLE_SINCE, TAG_LAST_IN, apply_decision
from tests.autoscaler.conftest import Group, instance_ids


def loopback(ids: list[str]) -> dict[str, str]:
    return {iid: f"127.42.0.{n + 1}" for n, iid in enumerate(ids)}


def adapter(aws: ClientFactory, hosts: dict[str, str]) -> AutoScalingAdapter:
    return AutoScalingAdapter(
        aws.client("autoscaling"), aws.client("ec2"), lambda iid, _ip: hosts.get(iid)
    )


def _decision(desired: int, **kw: tuple[str, ...] | str) -> ScalingDecision:
    base: dict = {"terminate": (), "protect": (), "unprotect": (), "reasons": ("t",)}
    base.update(kw)
    return ScalingDecision(desired=desired, **base)


def test_observe_reads_sizes_states_launch_times_and_mapped_addresses(
    aws: ClientFactory, group3: Group
) -> None:
    hosts = loopback(group3.ids)
    state = adapter(aws, hosts).observe(group3.name)
    assert (state.desired, state.min_size, state.max_size) == (3, 0, 10)
    assert sorted(m.instance_id for m in state.members) == group3.ids
    assert all(m.state == LifecycleState.IN_SERVICE and m.launched_at > 0 for m in state.members)
    assert {m.instance_id: m.host for m in state.members} == hosts  # never 172.31.x.x
    assert not state.refresh_in_progress
    assert any("instance refreshes" in note for note in state.notes)  # moto lacks the API


def test_scale_out_sets_desired_without_honouring_cooldown(
    aws: ClientFactory, group3: Group
) -> None:
    ad = adapter(aws, {})
    state = ad.observe(group3.name)
    report = apply_decision(ad, state, _decision(5, action="scale_out"), now=1000.0)
    assert report.errors == [] and "SetDesiredCapacity 5" in report.calls
    assert len(instance_ids(aws, group3.name)) == 5
    assert ad.observe(group3.name).last_scale_out_at == 1000.0


def test_scale_in_terminates_exactly_the_chosen_idle_instances(
    aws: ClientFactory, group3: Group
) -> None:
    ad = adapter(aws, {})
    busy, idle_a, idle_b = group3.ids
    state = ad.observe(group3.name)
    decision = _decision(1, action="scale_in", terminate=(idle_a, idle_b), protect=(busy,))
    report = apply_decision(ad, state, decision, now=2000.0)
    assert report.errors == []
    after = ad.observe(group3.name)
    assert after.desired == 1
    assert [m.instance_id for m in after.members] == [busy]
    assert after.members[0].protected
    assert after.last_scale_in_at == 2000.0
    tags = aws.client("autoscaling").describe_tags(
        Filters=[{"Name": "auto-scaling-group", "Values": [group3.name]}]
    )["Tags"]
    assert {t["Key"] for t in tags} >= {TAG_LAST_IN}


def test_unprotect_and_idle_tags_round_trip(aws: ClientFactory, group3: Group) -> None:
    ad = adapter(aws, {})
    a, b, _c = group3.ids
    state = ad.observe(group3.name)
    report = apply_decision(
        ad, state, _decision(3, action="hold", protect=(a, b)), 10.0, {a: 1234.0, b: 1234.0}
    )
    assert "tag 2 idle instance(s)" in report.calls  # first sightings share one call
    state = ad.observe(group3.name)
    assert {m.instance_id for m in state.members if m.protected} == {a, b}
    assert {m.instance_id: m.idle_since for m in state.members}[a] == 1234.0
    apply_decision(ad, state, _decision(3, action="hold", unprotect=(a,)), 20.0, {a: None, b: None})
    state = ad.observe(group3.name)
    assert {m.instance_id for m in state.members if m.protected} == {b}
    assert all(m.idle_since is None for m in state.members)
    described = aws.client("ec2").describe_tags(
        Filters=[
            {"Name": "key", "Values": [TAG_IDLE_SINCE]},
            {"Name": "resource-id", "Values": [a]},
        ]
    )
    assert described["Tags"] == []


def test_errors_are_reported_not_raised(aws: ClientFactory, group3: Group) -> None:
    ad = adapter(aws, {})
    state = ad.observe(group3.name)
    report = apply_decision(
        ad, state, _decision(2, action="scale_in", terminate=("i-00000000dead",)), 5.0
    )
    assert report.errors and "i-00000000dead" in report.errors[0]


def test_metrics_published_with_stack_and_group_dimensions(aws: ClientFactory) -> None:
    cloudwatch = aws.client("cloudwatch")
    data = metric_data({mn.RUNNING_JOBS: 7.0, mn.SCRAPE_FAILURES: 1.0}, "stack-x", "fleet-x")
    data *= 15  # more than one PutMetricData batch
    publish(cloudwatch, data)
    found = cloudwatch.list_metrics(Namespace=mn.NAMESPACE, MetricName=mn.RUNNING_JOBS)["Metrics"]
    dims = [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in found]
    assert {mn.DIM_STACK: "stack-x", mn.DIM_ASG: "fleet-x"} in dims


def test_failed_termination_neither_lowers_desired_nor_starts_a_cooldown(
    aws: ClientFactory, group3: Group
) -> None:
    ad = adapter(aws, {})
    state = ad.observe(group3.name)
    report = apply_decision(
        ad, state, _decision(2, action="scale_in", terminate=("i-00000000dead",)), 5.0
    )
    assert report.errors and not any("SetDesiredCapacity" in c for c in report.calls)
    after = ad.observe(group3.name)
    assert after.desired == 3 and after.last_scale_in_at is None
    assert instance_ids(aws, group3.name) == group3.ids
