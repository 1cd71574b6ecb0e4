"""The sandbox's "EC2 instances": one runner agent each, on its own loopback address.

What the bootstrap script and the drain document do on a real instance happens here in
Python, in accelerated time: boot, read the runner tokens from SSM with decryption, start the
runner (which verifies its tokens), complete the launch action; and, when the drain document
is "run" on it through Run Command, stop taking jobs, record heartbeats while jobs run,
unregister after the drain, and complete the terminate action with CONTINUE.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.drain import CommandStatus
from runnerfleet.sandbox.agent import AgentConfig, RunnerAgent
from runnerfleet.sandbox.clock import SimClock
from runnerfleet.sandbox.fleetport import FleetModelAutoScaling

LAUNCH_HOOK = "launch"
TERMINATE_HOOK = "drain"


@dataclass(frozen=True)
class HostSettings:
    gitlab_url: str
    concurrent: int
    check_interval_s: float
    boot_s: float
    group: str
    read_tokens: Callable[[], tuple[tuple[str, str], ...]]  # (name, glrt-) from SSM


@dataclass
class Fleetwide:
    jobs_killed: int = 0
    drains: int = 0
    log: list[str] = field(default_factory=list)


def demo_address(n: int) -> str:
    """The n-th (from 1) in-process instance's loopback address: 127.0.20.1 to 127.0.99.250.

    A block of its own, below the twin's (127.0.100.1 upwards): an in-process agent and a twin
    instance on one machine (two test workers, say) never share an address and its runner port.
    """
    block, host = divmod(n - 1, 250)
    if block >= 80:
        raise OSError("no loopback address left for another in-process instance (20,000 used)")
    return f"127.0.{20 + block}.{host + 1}"


class InstanceHost:
    """Boots, drains and kills the agents of the fleet's instances."""

    def __init__(self, settings: HostSettings, asg: FleetModelAutoScaling, clock: SimClock):
        self.settings = settings
        self.asg = asg
        self.actions = LifecycleActions(asg)
        self.clock = clock
        self.agents: dict[str, RunnerAgent] = {}
        self.addresses: dict[str, str] = {}
        self.totals = Fleetwide()
        self._commands: dict[str, CommandStatus] = {}
        self._lock = threading.Lock()
        self._octets = itertools.count(1)

    def address_of(self, instance_id: str, _private_ip: str | None = None) -> str | None:
        """The adapter's address mapper: emulated instances live on 127.0.x.y, never 172.31."""
        agent = self.agents.get(instance_id)
        return f"{agent.config.address}:{agent.config.port}" if agent else None

    def launch(self, instance_id: str) -> None:
        """The instance reached Pending:Wait: bootstrap it in the background."""
        threading.Thread(target=self._bootstrap, args=(instance_id,), daemon=True).start()

    def _bootstrap(self, instance_id: str) -> None:
        if not self.clock.sleep(self.settings.boot_s):
            return
        n = next(self._octets)
        config = AgentConfig(
            instance_id=instance_id,
            address=demo_address(n),
            gitlab_url=self.settings.gitlab_url,
            tokens=self.settings.read_tokens(),
            concurrent=self.settings.concurrent,
            check_interval=self.settings.check_interval_s,
            trace_interval=None,  # accelerated time: the in-process stand-in reaps no job
        )
        agent = RunnerAgent(config, self.clock)
        agent.start()
        with self._lock:
            self.agents[instance_id] = agent
        token = self.asg.action_token(instance_id)
        self.actions.complete(self.settings.group, LAUNCH_HOOK, token, "CONTINUE")

    # ---- the drain document, run through (emulated) Run Command ----

    def send(
        self, instance_id: str, document: str, parameters: Mapping[str, str], comment: str
    ) -> str:
        command_id = str(uuid.uuid4())
        with self._lock:
            agent = self.agents.get(instance_id)
            self._commands[command_id] = (
                CommandStatus.RUNNING if agent else CommandStatus.UNREACHABLE
            )
        if agent is not None:
            threading.Thread(
                target=self._drain, args=(agent, dict(parameters), command_id), daemon=True
            ).start()
        return command_id

    def status(self, command_id: str, instance_id: str) -> tuple[CommandStatus, str]:
        return self._commands.get(command_id, CommandStatus.UNREACHABLE), ""

    def _drain(self, agent: RunnerAgent, params: dict[str, str], command_id: str) -> None:
        group, hook = params["AutoScalingGroupName"], params["LifecycleHookName"]
        token = params["LifecycleActionToken"]
        every, budget = float(params["HeartbeatSeconds"]), float(params["MaxDrainSeconds"])
        agent.stop_accepting()
        started = last_beat = self.clock.now()
        while agent.running and self.clock.now() - started < budget and not self.clock.stopped:
            if self.clock.now() - last_beat >= every:
                self.actions.heartbeat(group, hook, token)
                last_beat = self.clock.now()
            self.clock.sleep(5.0)
        agent.unregister()  # after the drain: only this instance's manager goes
        self.actions.complete(group, hook, token, "CONTINUE")
        self._commands[command_id] = CommandStatus.SUCCEEDED
        self.totals.drains += 1

    def terminated(self, instance_id: str) -> None:
        """EC2 shut the instance down: whatever still runs on it dies."""
        with self._lock:
            agent = self.agents.pop(instance_id, None)
        if agent is not None:
            self.totals.jobs_killed += agent.kill()

    def shutdown(self) -> None:
        with self._lock:
            agents, self.agents = list(self.agents.values()), {}
        for agent in agents:
            agent.shutdown()
