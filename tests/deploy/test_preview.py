"""The preview data: parameter diff with secrets masked, value normalisation, statuses."""

from __future__ import annotations

from runnerfleet.aws.preview import (
    MASK,
    ParameterChange,
    effective_parameters,
    is_secret,
    parameter_diff,
    same_value,
)
from runnerfleet.aws.stackstatus import is_failure, is_in_progress, means_no_changes

TEMPLATE = {
    "Parameters": {
        "InstanceType": {"Type": "String"},
        "Hidden": {"Type": "String", "NoEcho": True},
        "Subnets": {"Type": "CommaDelimitedList", "Default": ["subnet-a", "subnet-b"]},
        "Size": {"Type": "Number", "Default": 1},
    }
}


def test_diff_lists_changes_and_masks_noecho_named_and_token_like_values():
    old = {"InstanceType": "t3.medium", "Hidden": "s3cret", "RunnerToken": "a", "Note": "x"}
    new = {
        "InstanceType": "t3.large",
        "Hidden": "other",
        "RunnerToken": "b",
        "Note": "glrt-abcdefghijklmnop",
        "Added": "1",
    }
    diff = {c.key: c for c in parameter_diff(old, new, TEMPLATE)}
    assert diff["InstanceType"] == ParameterChange("InstanceType", "t3.medium", "t3.large", False)
    for key in ("Hidden", "RunnerToken", "Note"):
        assert diff[key].masked and diff[key].old == MASK and diff[key].new == MASK
    assert diff["Added"].kind == "added" and diff["Added"].old is None
    rendered = repr(list(diff.values()))
    assert "s3cret" not in rendered and "glrt-" not in rendered and "other" not in rendered


def test_unchanged_values_are_not_listed_even_in_mot_list_notation():
    old = {"Subnets": "['subnet-a', 'subnet-b']"}
    new = {"Subnets": "subnet-a,subnet-b"}
    assert parameter_diff(old, new, TEMPLATE) == []
    assert same_value("a, b", "a,b")
    assert not same_value("a,b", "b,a")


def test_effective_parameters_fill_in_template_defaults():
    assert effective_parameters(TEMPLATE, {"InstanceType": "t3.small"}) == {
        "InstanceType": "t3.small",
        "Subnets": "subnet-a,subnet-b",
        "Size": "1",
    }


def test_secret_heuristics_spare_plain_values_and_digests():
    assert not is_secret("CodeKey", "runnerfleet/lambda/runnerfleet-" + "a" * 64 + ".zip", False)
    assert not is_secret("Digest", "0123456789abcdef" * 4, False)
    assert is_secret("Anything", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", False)
    assert is_secret("DbPassword", "short", False)


def test_status_classification():
    assert is_in_progress("UPDATE_ROLLBACK_IN_PROGRESS")
    assert not is_in_progress("REVIEW_IN_PROGRESS")
    assert is_failure("ROLLBACK_COMPLETE") and is_failure("UPDATE_ROLLBACK_COMPLETE")
    assert not is_failure("UPDATE_COMPLETE")
    assert means_no_changes("The submitted information didn't contain changes. Submit ...")
    assert means_no_changes("No updates are to be performed.")
    assert not means_no_changes("Template format error")
    assert not means_no_changes(None)


SSM_TEMPLATE = {
    "Parameters": {
        "ImageId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"},
        "CodeKey": {"Type": "String"},
    }
}
AMI_PATH = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def test_ssm_typed_parameters_are_not_secrets_and_resolved_values_are_not_a_change():
    assert not is_secret("ImageId", AMI_PATH, False)
    assert parameter_diff({"ImageId": "ami-12345678"}, {"ImageId": AMI_PATH}, SSM_TEMPLATE) == []
    moved = parameter_diff({"ImageId": "/old/path"}, {"ImageId": AMI_PATH}, SSM_TEMPLATE)
    assert [(c.key, c.new) for c in moved] == [("ImageId", AMI_PATH)]


def test_real_aws_leaves_ssm_typed_stacks_to_the_change_set():
    """AWS resolves the latest AMI at every update: no local short-cut may hide a new one."""
    from runnerfleet.aws.cloudformation import StackOperations, StackRequest
    from runnerfleet.aws.stackstatus import StackState

    state = StackState("id", "s", "UPDATE_COMPLETE", "", {"ImageId": AMI_PATH}, {}, {}, False)
    request = StackRequest("s", SSM_TEMPLATE, {"ImageId": AMI_PATH, "CodeKey": "k.zip"})
    assert (
        StackOperations(client=None, resolves_ssm_parameters=True).unchanged(request, state)
        is False
    )
