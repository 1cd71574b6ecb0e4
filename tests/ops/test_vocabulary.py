"""One vocabulary: one finding type with one line format, one AWS error translator."""

from __future__ import annotations

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import translate
from runnerfleet.aws.fleet_drain import pause_autoscaler
from runnerfleet.errors import AwsError, CredentialsError
from runnerfleet.findings import Finding, error, has_errors, passed, problems, warning
from tests.ops.stubs import client, stubbed


def _client_error(code: str, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "AnyCall")


def test_a_finding_reads_file_line_key_message_fix() -> None:
    found = error("RF101", "t9.huge is not allowed", "use t3.*", "instances.types[0]")
    assert found.located("envs/dev.yaml", 7).render() == (
        "envs/dev.yaml:7: instances.types[0]: t9.huge is not allowed; fix: use t3.*"
    )
    assert Finding("vpc", "ok", "VPC vpc-1 exists").render() == "VPC vpc-1 exists"
    mixed = [passed("a", "fine"), warning("b", "odd", "look"), error("c", "bad", "fix it")]
    assert has_errors(mixed) and [f.code for f in problems(mixed)] == ["c", "b"]


def test_a_finding_never_renders_a_secret() -> None:
    leaked = error("RF201", "token glrt-abcdefghijklmnop is inline", "use SSM", "runners[0].token")
    assert "glrt-abcdefghijklmnop" not in leaked.render()
    assert "runners[0].token" in leaked.render()


def test_expired_credentials_are_a_credentials_error_in_every_adapter() -> None:
    events = client("events")
    with stubbed(events) as (stub,):
        stub.add_client_error("disable_rule", "ExpiredToken", "expired")
        try:
            pause_autoscaler(events, ["tick"])
        except CredentialsError as exc:
            assert "pausing the autoscaler" in exc.message and exc.exit_code == 4
        else:  # pragma: no cover - the stub always answers with the error
            raise AssertionError("no error raised")


def test_the_translator_can_leave_aws_message_out() -> None:
    quoted = translate(_client_error("Invalid", "echo of the request"), "importing X")
    hidden = translate(_client_error("Invalid", "echo of the request"), "importing X", quote=False)
    assert isinstance(quoted, AwsError) and "echo of the request" in quoted.message
    assert hidden.message == "importing X failed: Invalid" and hidden.hint
