"""The twin process gets every runtime part: its routes and its world ports."""

from __future__ import annotations

from pathlib import Path

from runnerfleet.sandbox.twin.__main__ import assemble
from runnerfleet.sandbox.twin.events import LocalEventBus
from runnerfleet.sandbox.twin.instances import InstanceRuntime
from runnerfleet.sandbox.twin.lambdas import LocalLambdas
from runnerfleet.sandbox.twin.runcommand import RunCommandService
from runnerfleet.sandbox.twin.world import TwinSettings


def test_the_twin_runs_instances_commands_functions_and_events(tmp_path: Path) -> None:
    twin = assemble(TwinSettings(region="us-east-1", account_id="123456789012", home=tmp_path))
    try:
        assert isinstance(twin.instances, InstanceRuntime)
        assert isinstance(twin.commands, RunCommandService)
        assert isinstance(twin.lambdas, LocalLambdas)
        assert isinstance(twin.bus, LocalEventBus)
        assert {"ssm", "lambda", "events"} <= set(twin.routes)
        assert twin.bus.lambdas is twin.lambdas  # rule targets run in the local runtime
    finally:
        twin.close()
