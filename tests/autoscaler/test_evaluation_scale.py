"""One evaluation of a 2,000-instance group through boto3, against a fake AWS on the wire that
refuses more ids per call than AWS allows; and the client factory's timestamp parser."""

from __future__ import annotations

import datetime as dt
import time

import botocore.utils
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnerfleet.aws.autoscaling import AutoScalingAdapter
from runnerfleet.aws.clients import fast_timestamp
from runnerfleet.scaling.evaluation import RunnerObservation, evaluate_group
from runnerfleet.scaling.observe import GroupState, RunnerReading
from runnerfleet.scaling.policies import IdlePolicy
from tests.autoscaler.aws_wire import LAUNCHED, LIMITS, AwsWire, fleet_of

pytestmark = pytest.mark.contract
SIZE = 2_000


class Readings:
    """Every fifth runner idle, the others busy (as the fake runner fleet answers)."""

    def observe(self, group: GroupState) -> RunnerObservation:
        readings = {m.instance_id: RunnerReading(n % 5, 4) for n, m in enumerate(group.members)}
        return RunnerObservation(readings, None)


def adapter(wire: AwsWire) -> AutoScalingAdapter:
    factory = wire.factory()
    return AutoScalingAdapter(factory.client("autoscaling"), factory.client("ec2"))


def test_observe_describes_every_instance_in_batches() -> None:
    wire = fleet_of(SIZE)
    group = adapter(wire).observe("fleet-asg")
    assert len(group.members) == SIZE
    assert {m.host for m in group.members} == {i.private_ip for i in wire.instances}
    assert {m.launched_at for m in group.members} == {LAUNCHED.timestamp()}
    described = [ids for action, ids in wire.calls if action == "DescribeInstances"]
    assert sum(described) == SIZE and max(described) <= 200


def test_scale_in_at_2000_stays_within_the_batch_limits() -> None:
    wire = fleet_of(SIZE, idle_old=time.time() - 7200)
    policy = IdlePolicy(idle_count=0, idle_time_s=600, scale_factor=0.1, concurrent=4)
    cycle = evaluate_group(adapter(wire), Readings(), "fleet-asg", policy, time.time())
    assert cycle.report is not None and cycle.report.errors == []
    assert cycle.decision.action == "scale_in" and cycle.decision.terminate
    protected = [ids for action, ids in wire.calls if action == "SetInstanceProtection"]
    assert sum(protected) == len(cycle.decision.protect) > 50
    for action, ids in wire.calls:
        assert ids <= LIMITS.get(action, 200), (action, ids)


def test_the_fake_refuses_what_aws_refuses() -> None:
    wire = fleet_of(60)
    port = adapter(wire)
    with pytest.raises(Exception, match="51 ids"):
        port.set_protection("fleet-asg", [i.instance_id for i in wire.instances[:51]], True)


utc_times = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2099, 12, 31)
).map(lambda t: t.replace(tzinfo=dt.UTC))


@given(utc_times, st.sampled_from(["%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "iso"]))
def test_fast_timestamp_agrees_with_botocore(moment: dt.datetime, layout: str) -> None:
    text = moment.isoformat() if layout == "iso" else moment.strftime(layout)
    ours, theirs = fast_timestamp(text), botocore.utils.parse_timestamp(text)
    assert ours == theirs and ours.utcoffset() == theirs.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "value",
    [1_700_000_000, "1700000000.5", "2026-12-02T08:00:00+02:00", "Tue, 02 Dec 2026 08:00:00 GMT"],
)
def test_other_timestamps_go_to_botocore(value: object) -> None:
    assert fast_timestamp(value) == botocore.utils.parse_timestamp(value)


def test_factory_clients_parse_aws_times_without_dateutil(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("dateutil parsed a timestamp")

    monkeypatch.setattr("dateutil.parser.parse", slow)
    group = adapter(fleet_of(3)).observe("fleet-asg")
    assert [m.launched_at for m in group.members] == [LAUNCHED.timestamp()] * 3
