"""The deploy commands end to end through `main()`, against the session's moto server."""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runnerfleet.aws.stackstatus import StackState
from runnerfleet.cli import commands_deploy, console
from runnerfleet.cli.main import main
from runnerfleet.errors import DeployFailedError
from runnerfleet.ops import deploy as deploy_use_case
from runnerfleet.sandbox import emulator, state
from tests.conftest import EXAMPLES
from tests.deploy.helpers import sandbox_state, small_synth


@pytest.fixture(autouse=True)
def _small_template(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy_use_case, "fleet_synthesizer", small_synth)
    # Tests read content, not layout: a wide console keeps table cells whole.
    monkeypatch.setattr(console.out, "width", 200)
    monkeypatch.setattr(console.err, "width", 200)


@pytest.fixture
def sandbox(moto_endpoint: str, seeded: emulator.Seeded) -> state.SandboxState:
    """The state file a `sandbox start` would write, pointing at the test server."""
    recorded = sandbox_state(moto_endpoint, seeded)
    state.save(recorded)
    return recorded


def envfile(tmp_path: Path, instance_type: str = "t3.medium", name: str = "") -> Path:
    """dev.yaml under a unique stack name (and optionally another instance type)."""
    path = tmp_path / f"env-{uuid.uuid4().hex[:6]}.yaml"
    stack = name or f"t-{uuid.uuid4().hex[:10]}"
    path.write_text(
        f"extends: {EXAMPLES / 'dev.yaml'}\nstack_name: {stack}\n"
        f"instances:\n  types: [{instance_type}]\n"
    )
    return path


def test_missing_credentials_without_sandbox_says_how_to_fix(capsys):
    code = main(["deploy", str(EXAMPLES / "dev.yaml"), "--yes"])
    captured = capsys.readouterr()
    assert code == 4
    assert "no AWS credentials found" in captured.err
    assert "--sandbox" in captured.err and "aws configure" in captured.err
    assert main(["status", str(EXAMPLES / "dev.yaml")]) == 4


def test_sandbox_flag_without_a_running_sandbox_is_an_error(capsys):
    assert main(["deploy", str(EXAMPLES / "dev.yaml"), "--sandbox", "--yes"]) == 7
    assert "runnerfleet sandbox start" in capsys.readouterr().err


def test_deploy_noop_diff_status_outputs_destroy_on_the_sandbox(sandbox, tmp_path, capsys):
    first = envfile(tmp_path)
    stack = first.read_text().split("stack_name: ")[1].split()[0]
    assert main(["deploy", str(first), "--sandbox", "--yes"]) == 0
    captured = capsys.readouterr()
    assert "EMULATED" in captured.err and "sandbox_spec" in captured.err
    assert "created" in captured.out and "Add" in captured.out
    assert main(["deploy", str(first), "--sandbox", "--yes"]) == 0
    assert "no changes" in capsys.readouterr().out
    bigger = envfile(tmp_path, "t3.large", name=stack)
    assert main(["diff", str(bigger), "--sandbox"]) == 0
    shown = capsys.readouterr().out
    assert "InstanceType" in shown and "t3.medium" in shown and "t3.large" in shown
    assert main(["status", str(first), "--sandbox"]) == 0
    assert "CREATE_COMPLETE" in capsys.readouterr().out  # diff changed nothing
    assert main(["outputs", str(first), "--sandbox", "--json"]) == 0
    json.loads(capsys.readouterr().out or "{}")
    assert main(["destroy", str(first), "--sandbox", "--yes"]) == 0
    assert "deleted" in capsys.readouterr().out
    assert main(["status", str(first), "--sandbox"]) == 0
    assert "not deployed" in capsys.readouterr().out


def test_parallel_deploy_reports_one_result_per_environment(sandbox, tmp_path, capsys):
    files = [envfile(tmp_path), envfile(tmp_path, "t3.large")]
    assert main(["deploy", *map(str, files), "--sandbox", "--yes"]) == 0
    out = capsys.readouterr().out
    assert out.count("created") == 2


def test_declined_deploy_changes_nothing(sandbox, tmp_path, monkeypatch, capsys):
    path = envfile(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["deploy", str(path), "--sandbox"]) == 130
    capsys.readouterr()
    assert main(["status", str(path), "--sandbox"]) == 0
    assert "not deployed" in capsys.readouterr().out


def test_destroy_needs_the_typed_stack_name(sandbox, tmp_path, monkeypatch, capsys):
    path = envfile(tmp_path)
    assert main(["deploy", str(path), "--sandbox", "--yes"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong-name\n"))
    assert main(["destroy", str(path), "--sandbox"]) == 130
    capsys.readouterr()
    assert main(["status", str(path), "--sandbox"]) == 0
    assert "CREATE_COMPLETE" in capsys.readouterr().out


def test_rollback_complete_offer_explains_and_never_deletes_on_yes(capsys):
    stuck = StackState("id", "runnerfleet-dev", "ROLLBACK_COMPLETE", "LT failed", {}, {}, {}, False)
    assert commands_deploy._settings(None, yes=True).offer_delete(stuck) is False
    err = capsys.readouterr().err
    assert "cannot be updated" in err and "LT failed" in err


@pytest.fixture
def gitlab(sandbox: state.SandboxState) -> Iterator[str]:
    """A GitLab stand-in on loopback, recorded in the sandbox state like `sandbox start` does."""
    from runnerfleet.sandbox.standin.model import StandInState
    from runnerfleet.sandbox.standin.seed import seed_sandbox
    from runnerfleet.sandbox.standin.server import GitLabStandIn

    standin_state = StandInState(auto_targets=True)
    seed_sandbox(standin_state)
    server = GitLabStandIn(standin_state, host="127.0.0.1", port=0).start()
    state.save(dataclasses.replace(sandbox, gitlab_url=server.url))
    yield server.url
    server.stop()


def test_deploy_creates_the_gitlab_runners_before_the_stack(gitlab, tmp_path, capsys):
    path = envfile(tmp_path)
    assert main(["deploy", str(path), "--sandbox", "--yes"]) == 0
    err = capsys.readouterr().err
    assert "gitlab registrations: plan 2 create" in err
    assert "gitlab registrations: 2 created, 0 updated" in err
    assert err.index("2 created") < err.index("CREATE_COMPLETE")
    assert main(["deploy", str(path), "--sandbox", "--yes"]) == 0
    assert "gitlab registrations: plan 2 keep" in capsys.readouterr().err


def test_a_single_environment_deploy_that_fails_prints_the_failing_events(
    sandbox, tmp_path, monkeypatch, capsys
):
    failing = "Group UPDATE_FAILED AWS::AutoScaling::AutoScalingGroup: Received 0 SUCCESS signal"
    error = DeployFailedError("stack x: UPDATE_ROLLBACK_COMPLETE", events=[failing], hint="h")

    def fail(environments, _run, _review):  # type: ignore[no-untyped-def]
        spec, _target = environments[0]
        return [deploy_use_case.EnvResult(spec.name, spec.stack, "here", "failed", error=error)]

    monkeypatch.setattr(deploy_use_case, "deploy_environments", fail)
    assert main(["deploy", str(envfile(tmp_path)), "--sandbox", "--yes"]) == 5
    printed = capsys.readouterr().err
    assert "Received 0 SUCCESS signal" in printed and "UPDATE_ROLLBACK_COMPLETE" in printed
