"""The drain script as SSM runs it, on a pretend instance with a virtual clock.

The instance harness of ``tests.instance`` (temporary root, fake IMDSv2 on loopback, logged stub
commands) plus the scenario stubs of ``tests/drain/stubs``: ``date +%s`` and ``sleep`` work on a
virtual clock, ``systemctl`` plays a runner that drains its jobs, ``aws`` and ``gitlab-runner``
succeed or fail as the scenario says, and every observable step lands in one file.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runnerfleet.stack.drain_document import (
    DrainSettings,
    render_drain_document,
    substitute_parameters,
)
from tests.drain.scenarios import Scenario
from tests.instance.harness import FakeImds, Instance, make_instance

STUBS = Path(__file__).parent / "stubs"
T0 = 1_795_435_200  # the virtual clock's start: the drain begins here
TOKEN = "87654321-4321-4321-4321-210987654321"
SPOT_KEY = "spot/instance-action"


class SpotNotice(dict[str, str]):
    """IMDS values in which the spot notice appears at a virtual time."""

    def __init__(self, base: dict[str, str], clock: Path, notice_at: int, body: str) -> None:
        super().__init__(base)
        self.clock, self.notice_at, self.body = clock, notice_at, body

    def _shown(self) -> bool:
        return int(self.clock.read_text()) - T0 >= self.notice_at

    def __contains__(self, key: object) -> bool:
        return (key == SPOT_KEY and self._shown()) or super().__contains__(key)

    def __getitem__(self, key: str) -> str:
        return self.body if key == SPOT_KEY and self._shown() else super().__getitem__(key)


@dataclass
class ScriptRun:
    steps: list[str]
    returncode: int
    output: str
    instance: Instance


def spot_body(kill_at: int) -> str:
    when = datetime.fromtimestamp(T0 + kill_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'{{"action":"terminate","time":"{when}"}}'


def drain_script(scenario: Scenario, settings: DrainSettings | None = None) -> str:
    limits = scenario.limits
    document = render_drain_document(settings or DrainSettings("rf-dev-asg", "rf-dev-term"))
    values = {
        "LifecycleActionToken": TOKEN,
        "HeartbeatSeconds": str(int(limits.heartbeat_every_s)),
        "HeartbeatTimeoutSeconds": str(scenario.heartbeat_timeout),
        "MaxDrainSeconds": str(int(limits.drain_budget_s)),
    }
    return substitute_parameters(document, values)


def scenario_instance(tmp: Path, imds: FakeImds, scenario: Scenario) -> Instance:
    instance = make_instance(tmp, imds)
    overlay = instance.stub_dir / "scenario-bin"
    shutil.copytree(STUBS, overlay)
    shutil.move(overlay / "_scenario.sh", instance.stub_dir / "_scenario.sh")
    runner = instance.path("/usr/local/bin/gitlab-runner")
    runner.parent.mkdir(parents=True)
    shutil.move(overlay / "gitlab-runner", runner)
    config = instance.path("/etc/gitlab-runner/config.toml")
    config.parent.mkdir(parents=True)
    config.write_text('[[runners]]\n  name = "ci-a"\n  token = "glrt-x"\n')
    clock = instance.stub_dir / "clock"
    clock.write_text(f"{T0}\n")
    if scenario.spot_notice_at is not None and scenario.spot_kill_at is not None:
        body = spot_body(scenario.spot_kill_at)
        imds.values = SpotNotice(imds.values, clock, scenario.spot_notice_at, body)
    instance.env["PATH"] = f"{overlay}:{instance.env['PATH']}"
    return instance


def _flags(results: tuple[bool, ...]) -> str:
    return " ".join("ok" if ok else "fail" for ok in results)


def run_script(instance: Instance, scenario: Scenario, script: str) -> ScriptRun:
    env = {
        "STUB_T0": str(T0),
        "STUB_JOBS_END": str(max(scenario.jobs_end, default=0)),
        "STUB_TERM_SECONDS": "" if scenario.term_exit_s is None else str(scenario.term_exit_s),
        "STUB_HEARTBEATS": _flags(scenario.heartbeats),
        "STUB_UNREGISTERS": _flags(scenario.unregisters),
        "STUB_COMPLETES": _flags(scenario.completes),
    }
    result = instance.run(script, interpreter="sh", **env)  # SSM may start it with /bin/sh
    steps_file = instance.stub_dir / "steps"
    steps = steps_file.read_text().splitlines() if steps_file.exists() else []
    return ScriptRun(steps, result.returncode, result.stdout + result.stderr, instance)
