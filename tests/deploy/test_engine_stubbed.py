"""What moto cannot show, with Stubber: ROLLBACK_COMPLETE, a failing change set, per-resource
failure events, outputs, and termination protection for production."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from runnerfleet.aws.cloudformation import ChangeSet, StackNeedsDeletionError, StackOperations
from runnerfleet.aws.stackstatus import StackEvent, StackState
from runnerfleet.errors import AwsError, DeployFailedError, GuardrailError
from runnerfleet.ops.deploy import Prepared, deploy_environments, execute, prepare
from runnerfleet.ops.destroy import DestroySteps, destroy
from tests.deploy import stubs
from tests.deploy.helpers import CODE, Recorder, dev_spec, fast_settings, small_synth, target_of

BUCKET = "runnerfleet-artifacts-123456789012"
ADD_GROUP = {
    "Type": "Resource",
    "ResourceChange": {
        "Action": "Add",
        "LogicalResourceId": "Group",
        "ResourceType": "AWS::AutoScaling::AutoScalingGroup",
    },
}


def _spec(**updates):  # type: ignore[no-untyped-def]
    return dev_spec(BUCKET, stack_name=stubs.STACK, **updates)


def _prepare(factory, settings):  # type: ignore[no-untyped-def]
    return prepare(
        _spec(),
        target_of(factory),
        synth=small_synth(),
        code=CODE,
        reporter=Recorder(),
        settings=settings,
    )


def test_rollback_complete_is_explained_and_not_touched_when_declined():
    factory = stubs.StubFactory(stubs.real_target())
    stubs.caller(factory)  # and no S3 call: nothing is uploaded for a refused deploy
    factory.cfn().add_response(
        "describe_stacks", stubs.stack("ROLLBACK_COMPLETE", StackStatusReason="LT failed")
    )
    offered: list[StackState] = []

    def decline(state: StackState) -> bool:
        offered.append(state)
        return False

    with pytest.raises(StackNeedsDeletionError) as caught:
        _prepare(factory, fast_settings(offer_delete=decline))
    assert [s.status for s in offered] == ["ROLLBACK_COMPLETE"]
    assert "cannot be updated, only deleted" in caught.value.message
    assert "runnerfleet destroy" in (caught.value.hint or "")
    assert caught.value.exit_code == 5
    factory.verify()  # no delete, no change set


def test_rollback_complete_is_deleted_when_accepted_then_created_afresh():
    factory = stubs.StubFactory(stubs.real_target())
    cfn = factory.cfn()
    stubs.caller(factory)
    stubs.artefact_present(factory, BUCKET)
    cfn.add_response("describe_stacks", stubs.stack("ROLLBACK_COMPLETE"))
    cfn.add_response(
        "describe_stack_events", stubs.events(stubs.event(1, stubs.STACK, "ROLLBACK_COMPLETE"))
    )
    cfn.add_response("delete_stack", {}, {"StackName": stubs.STACK_ID})
    cfn.add_response(
        "describe_stack_events",
        stubs.events(
            stubs.event(2, stubs.STACK, "DELETE_COMPLETE"),
            stubs.event(1, stubs.STACK, "ROLLBACK_COMPLETE"),
        ),
    )
    cfn.add_response(
        "describe_stacks", stubs.stack("DELETE_COMPLETE"), {"StackName": stubs.STACK_ID}
    )
    stubs.change_set_created(cfn, "CREATE", changes=[ADD_GROUP])
    prepared = _prepare(factory, fast_settings(offer_delete=lambda _s: True))
    assert prepared.change_set is not None
    assert prepared.change_set.change_type == "CREATE"
    assert prepared.change_set.changes[0].logical_id == "Group"
    factory.verify()


def test_failing_change_set_reports_the_reason_and_cleans_up():
    factory = stubs.StubFactory(stubs.real_target())
    cfn = factory.cfn()
    stubs.caller(factory)
    stubs.artefact_present(factory, BUCKET)
    stubs.no_stack(cfn)
    reason = (
        "Template format error: Unresolved resource dependencies [Missing] in the Resources block"
    )
    stubs.change_set_created(cfn, "CREATE", status="FAILED", reason=reason)
    cfn.add_response("delete_change_set", {}, {"ChangeSetName": stubs.CS_ID})
    cfn.add_response("describe_stacks", stubs.stack("REVIEW_IN_PROGRESS"))
    cfn.add_response("delete_stack", {}, {"StackName": stubs.STACK_ID})
    with pytest.raises(DeployFailedError) as caught:
        _prepare(factory, fast_settings())
    assert "Unresolved resource dependencies" in caught.value.message
    assert "change set was deleted" in (caught.value.hint or "")
    factory.verify()


def _prepared(factory, spec, change_type: str = "UPDATE") -> Prepared:  # type: ignore[no-untyped-def]
    ops = StackOperations(factory.client("cloudformation"), sleep=lambda _s: None, poll_s=0.01)
    change_set = ChangeSet(stubs.CS_ID, stubs.STACK_ID, change_type, (), ())
    return Prepared(spec, target_of(factory), ops, None, None, change_set, None, False)  # type: ignore[arg-type]


def test_failed_execution_prints_the_failing_resources_events_in_order():
    factory = stubs.StubFactory(stubs.real_target())
    cfn = factory.cfn()
    old = stubs.event(0, stubs.STACK, "UPDATE_COMPLETE")
    started = stubs.event(1, stubs.STACK, "UPDATE_IN_PROGRESS")
    lt = stubs.event(2, "LaunchTemplate", "UPDATE_COMPLETE", kind="AWS::EC2::LaunchTemplate")
    asg = stubs.event(
        3,
        "Group",
        "UPDATE_FAILED",
        "Received 0 SUCCESS signal(s) out of 1",
        "AWS::AutoScaling::AutoScalingGroup",
    )
    done = stubs.event(4, stubs.STACK, "UPDATE_ROLLBACK_COMPLETE")
    cfn.add_response("describe_stack_events", stubs.events(old))
    cfn.add_response("execute_change_set", {}, {"ChangeSetName": stubs.CS_ID})
    cfn.add_response("describe_stack_events", stubs.events(old, started, lt))
    cfn.add_response("describe_stacks", stubs.stack("UPDATE_IN_PROGRESS"))
    cfn.add_response("describe_stack_events", stubs.events(old, started, lt, asg, done))
    cfn.add_response("describe_stacks", stubs.stack("UPDATE_ROLLBACK_COMPLETE"))
    recorder = Recorder()
    with pytest.raises(DeployFailedError) as caught:
        execute(_prepared(factory, _spec()), recorder)
    seen = [e.event_id for _env, e in recorder.events]
    assert seen == ["e1", "e2", "e3", "e4"]
    assert caught.value.events == [StackEvent.from_api(asg).line()]
    assert "Received 0 SUCCESS signal" in caught.value.events[0]
    assert "UPDATE_ROLLBACK_COMPLETE" in caught.value.message
    factory.verify()


def test_production_deploy_turns_termination_protection_on_and_returns_outputs():
    factory = stubs.StubFactory(stubs.real_target())
    cfn = factory.cfn()
    cfn.add_response("describe_stack_events", stubs.events())
    cfn.add_response("execute_change_set", {}, {"ChangeSetName": stubs.CS_ID})
    cfn.add_response(
        "describe_stack_events", stubs.events(stubs.event(1, stubs.STACK, "CREATE_COMPLETE"))
    )
    outputs = [{"OutputKey": "GroupName", "OutputValue": "runnerfleet-dev-Group-1"}]
    cfn.add_response("describe_stacks", stubs.stack("CREATE_COMPLETE", Outputs=outputs))
    cfn.add_response(
        "update_termination_protection",
        {"StackId": stubs.STACK_ID},
        {"StackName": stubs.STACK, "EnableTerminationProtection": True},
    )
    recorder = Recorder()
    result = execute(_prepared(factory, _spec(production=True), "CREATE"), recorder)
    assert result.outcome == "created"
    assert result.outputs == {"GroupName": "runnerfleet-dev-Group-1"}
    assert recorder.said("termination protection: on")
    factory.verify()


def test_destroy_refuses_a_protected_stack_unless_asked_to_disable_protection():
    factory = stubs.StubFactory(stubs.real_target())
    cfn = factory.cfn()
    cfn.add_response(
        "describe_stacks", stubs.stack("UPDATE_COMPLETE", EnableTerminationProtection=True)
    )
    spec = _spec(production=True)
    with pytest.raises(GuardrailError) as caught:
        destroy(
            spec,
            target_of(factory),
            confirm=lambda _s: True,
            reporter=Recorder(),
            settings=fast_settings(),
        )
    assert "--disable-protection" in (caught.value.hint or "")
    cfn.add_response(
        "describe_stacks", stubs.stack("UPDATE_COMPLETE", EnableTerminationProtection=True)
    )
    cfn.add_response(
        "update_termination_protection",
        {"StackId": stubs.STACK_ID},
        {"StackName": stubs.STACK, "EnableTerminationProtection": False},
    )
    retained = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"}
    body = json.dumps({"Resources": {"Logs": retained}})
    cfn.add_response("get_template", {"TemplateBody": body})
    logs = {
        "LogicalResourceId": "Logs",
        "PhysicalResourceId": "/runnerfleet/dev/bootstrap",
        "ResourceType": "AWS::Logs::LogGroup",
        "ResourceStatus": "CREATE_COMPLETE",
        "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
    }
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": [logs]})
    cfn.add_response(
        "describe_stack_events", stubs.events(stubs.event(1, stubs.STACK, "UPDATE_COMPLETE"))
    )
    cfn.add_response("delete_stack", {}, {"StackName": stubs.STACK_ID})
    cfn.add_response(
        "describe_stack_events", stubs.events(stubs.event(2, stubs.STACK, "DELETE_COMPLETE"))
    )
    cfn.add_response("describe_stacks", stubs.stack("DELETE_COMPLETE"))
    recorder = Recorder()
    result = destroy(
        spec,
        target_of(factory),
        steps=DestroySteps(),
        confirm=lambda _s: True,
        reporter=recorder,
        settings=fast_settings(),
        disable_protection=True,
    )
    assert result.outcome == "deleted"
    assert recorder.said("retained (production: DeletionPolicy Retain), still in us-east-1: ")
    assert recorder.said("AWS::Logs::LogGroup /runnerfleet/dev/bootstrap")
    factory.verify()


def test_a_declined_deploy_whose_change_set_cannot_be_deleted_says_so():
    factory = stubs.StubFactory(stubs.real_target())
    cfn = factory.cfn()
    cfn.add_client_error("delete_change_set", "AccessDenied", "not allowed")
    spec = _spec()
    prepared = _prepared(factory, spec)
    run = SimpleNamespace(prepare=lambda _spec, _target: prepared, reporter=Recorder())
    with pytest.raises(AwsError) as caught:
        deploy_environments([(spec, prepared.target)], run, lambda _ready, _pending: False)  # type: ignore[arg-type]
    assert "change sets are left" in caught.value.message
    assert "change sets deleted" not in caught.value.message
    assert f"delete-change-set --change-set-name {stubs.CS_ID}" in caught.value.message
    factory.verify()


def test_a_failing_change_set_that_cannot_be_deleted_is_not_called_deleted():
    factory = stubs.StubFactory(stubs.real_target())
    cfn = factory.cfn()
    stubs.caller(factory)
    stubs.artefact_present(factory, BUCKET)
    stubs.no_stack(cfn)
    stubs.change_set_created(cfn, "CREATE", status="FAILED", reason="Template format error: x")
    cfn.add_client_error("delete_change_set", "Throttling", "slow down")
    with pytest.raises(DeployFailedError) as caught:
        _prepare(factory, fast_settings())
    assert "could not be deleted" in (caught.value.hint or "")
    assert "was deleted" not in (caught.value.hint or "")
    factory.verify()
