"""The deploy engine against a real moto server: create, update, no-op, failure, destroy."""

from __future__ import annotations

import pytest

from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.cloudformation import StackOperations, StackRequest
from runnerfleet.aws.fleet_drain import DestroyMarker
from runnerfleet.errors import AbortedError, DeployFailedError
from runnerfleet.ops.deploy import cancel, execute, prepare
from runnerfleet.ops.destroy import DestroySteps, destroy
from tests.deploy.helpers import (
    CODE,
    Recorder,
    dev_spec,
    fast_settings,
    small_synth,
    target_of,
    with_instance_type,
)


def _deploy(spec, factory, synth=None, recorder=None):  # type: ignore[no-untyped-def]
    recorder = recorder or Recorder()
    prepared = prepare(
        spec,
        target_of(factory),
        synth=synth or small_synth(),
        code=CODE,
        reporter=recorder,
        settings=fast_settings(),
    )
    return prepared, execute(prepared, recorder), recorder


def _ssm_value(factory: ClientFactory, spec) -> str:  # type: ignore[no-untyped-def]
    name = f"/runnerfleet/{spec.stack}/settings"
    return str(factory.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])


def test_first_deploy_creates_the_stack_through_a_create_change_set(factory, bucket):
    spec = dev_spec(bucket)
    prepared, result, recorder = _deploy(spec, factory)
    assert prepared.change_set is not None
    assert prepared.change_set.change_type == "CREATE"
    actions = {(c.logical_id, c.action) for c in prepared.change_set.changes}
    assert actions == {("Settings", "Add"), ("Code", "Add"), ("Logs", "Add")}
    assert result.outcome == "created" and result.ok
    # moto does not rebuild outputs on change-set execution; Stubber tests cover outputs
    assert _ssm_value(factory, spec) == "t3.medium"
    statuses = [e.status for _env, e in recorder.events]
    assert statuses[-1] == "CREATE_COMPLETE"  # streamed, oldest first
    assert recorder.totals[spec.name] == 4
    tags = factory.client("cloudformation").describe_stacks(StackName=spec.stack)["Stacks"][0]
    assert {"Key": "runnerfleet:environment", "Value": "dev"} in tags["Tags"]


def test_instance_type_change_is_an_update_with_a_parameter_diff(factory, bucket):
    spec = dev_spec(bucket)
    _deploy(spec, factory)
    changed = with_instance_type(spec, "t3.large")
    prepared, result, _ = _deploy(changed, factory)
    assert prepared.change_set is not None
    assert prepared.change_set.change_type == "UPDATE"
    diff = {p.key: (p.old, p.new) for p in prepared.change_set.parameters}
    assert diff == {"InstanceType": ("t3.medium", "t3.large")}
    assert result.outcome == "updated"
    assert _ssm_value(factory, spec) == "t3.large"


def test_unchanged_deploy_is_a_success_that_updates_nothing(factory, bucket):
    spec = dev_spec(bucket)
    _deploy(spec, factory)
    cfn = factory.client("cloudformation")
    before = cfn.describe_stack_events(StackName=spec.stack)["StackEvents"]
    prepared, result, recorder = _deploy(spec, factory)
    assert prepared.change_set is None
    assert result.outcome == "no changes" and result.ok
    assert recorder.said("skipped, template and parameters equal the deployed")
    assert cfn.describe_stack_events(StackName=spec.stack)["StackEvents"] == before
    assert cfn.describe_stacks(StackName=spec.stack)["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )


def test_an_unchanged_deploy_asks_nothing_of_s3_and_a_changed_one_uploads_again(factory, bucket):
    spec = dev_spec(bucket)
    first, _, _ = _deploy(spec, factory)
    s3 = factory.client("s3")
    s3.delete_object(Bucket=bucket, Key=first.artefact.key)  # gone, but the stack runs it
    noop, result, recorder = _deploy(spec, factory)
    assert result.outcome == "no changes" and not noop.uploaded
    assert recorder.said("(the deployed stack's)")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=first.artefact.key)
    changed, result, _ = _deploy(with_instance_type(spec, "t3.large"), factory)
    assert changed.uploaded and result.outcome == "updated"


def test_aws_no_changes_reason_is_recognised_and_the_change_set_deleted(factory, bucket):
    """Past the local comparison, AWS's own "didn't contain changes" also means no changes."""
    spec = dev_spec(bucket)
    prepared, _, _ = _deploy(spec, factory)
    ops = StackOperations(factory.client("cloudformation"), sleep=lambda _s: None)
    state = ops.describe(spec.stack)
    assert ops.create_change_set(prepared.request, state) is None
    summaries = factory.client("cloudformation").list_change_sets(StackName=spec.stack)
    assert all(s["ExecutionStatus"] != "AVAILABLE" for s in summaries["Summaries"])


def test_declined_change_set_is_deleted_and_nothing_changes(factory, bucket):
    spec = dev_spec(bucket)
    recorder = Recorder()
    prepared = prepare(
        spec,
        target_of(factory),
        synth=small_synth(),
        code=CODE,
        reporter=recorder,
        settings=fast_settings(),
    )
    assert cancel(prepared).outcome == "cancelled"
    assert StackOperations(factory.client("cloudformation")).describe(spec.stack) is None


def test_failing_resource_fails_the_deploy_and_deletes_the_change_set(factory, bucket):
    spec = dev_spec(bucket)
    _deploy(spec, factory)
    taken = f"/taken/{spec.stack}"
    factory.client("ssm").put_parameter(Name=taken, Value="x", Type="String")
    clash = {
        "Clash": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": taken, "Type": "String", "Value": "y"},
        }
    }
    with pytest.raises(DeployFailedError) as failure:
        _deploy(spec, factory, synth=small_synth(clash))
    assert "ParameterAlreadyExists" in failure.value.message
    assert failure.value.hint
    summaries = factory.client("cloudformation").list_change_sets(StackName=spec.stack)
    assert all(s["ExecutionStatus"] != "AVAILABLE" for s in summaries["Summaries"])


def test_destroy_asks_then_deletes_and_reports_absent_stacks(factory, bucket):
    spec = dev_spec(bucket)
    _deploy(spec, factory)
    recorder = Recorder()
    asked: list[str] = []

    def no(stack: str) -> bool:
        asked.append(stack)
        return False

    with pytest.raises(AbortedError):
        destroy(spec, target_of(factory), confirm=no, reporter=recorder, settings=fast_settings())
    assert asked == [spec.stack]
    ops = StackOperations(factory.client("cloudformation"))
    assert ops.describe(spec.stack) is not None
    result = destroy(
        spec,
        target_of(factory),
        confirm=lambda _s: True,
        reporter=recorder,
        settings=fast_settings(),
    )
    assert result.outcome == "deleted"
    assert ops.describe(spec.stack) is None
    assert recorder.said("drain: the stack holds no Auto Scaling group: nothing to drain")
    assert recorder.said("prune runners: skipped")
    again = destroy(
        spec, target_of(factory), confirm=no, reporter=recorder, settings=fast_settings()
    )
    assert again.outcome == "absent"


def test_request_with_same_content_in_another_key_order_compares_unchanged(factory, bucket):
    spec = dev_spec(bucket)
    prepared, _, _ = _deploy(spec, factory)
    ops = StackOperations(factory.client("cloudformation"))
    state = ops.describe(spec.stack)
    assert state is not None
    reordered = dict(reversed(list(prepared.request.template.items())))
    same = StackRequest(spec.stack, reordered, prepared.request.parameters, prepared.request.tags)
    assert ops.unchanged(same, state)
    other = StackRequest(
        spec.stack, reordered, {**prepared.request.parameters, "InstanceType": "x"}
    )
    assert not ops.unchanged(other, state)


def test_destroy_drains_before_deleting_and_prunes_after(factory, bucket):
    spec = dev_spec(bucket)
    _deploy(spec, factory)
    ops = StackOperations(factory.client("cloudformation"))
    order: list[tuple[str, bool]] = []

    def drain() -> str:
        order.append(("drain", ops.describe(spec.stack) is not None))
        return "drained"

    def prune() -> str:
        order.append(("prune", ops.describe(spec.stack) is not None))
        return "pruned"

    recorder = Recorder()
    destroy(
        spec,
        target_of(factory),
        confirm=lambda _s: True,
        reporter=recorder,
        settings=fast_settings(),
        steps=DestroySteps(drain=drain, prune=prune),
    )
    assert order == [("drain", True), ("prune", False)]
    assert recorder.said("drain: drained") and recorder.said("prune runners: pruned")


def test_a_destroy_is_recorded_until_the_stack_is_gone(factory, bucket):
    spec = dev_spec(bucket)
    _deploy(spec, factory)
    marker = DestroyMarker(factory.client("ssm"), spec.ssm_path)

    def stopped() -> str:
        raise KeyboardInterrupt

    def run(steps=None):  # type: ignore[no-untyped-def]
        target, settings = target_of(factory), fast_settings()
        yes = lambda _s: True  # noqa: E731
        return destroy(
            spec, target, confirm=yes, reporter=Recorder(), settings=settings, steps=steps
        )

    with pytest.raises(KeyboardInterrupt):
        run(DestroySteps(drain=stopped, marker=marker))
    assert marker.started() is not None  # the next deploy restores what the drain paused
    run()
    assert marker.started() is None
