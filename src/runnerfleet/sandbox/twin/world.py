"""The twin's world: one ``Twin`` object (clock, groups, instances, event bus) and its loop.

The parts are ports so that each can be built and tested on its own:

- ``Groups`` (the Auto Scaling side): the group models, the Auto Scaling API the front serves,
  stack synchronisation, and ``tick(now)`` returning what the models did;
- ``InstanceRuntime``, ``EventBus``, ``LambdaRuntime``, ``RunCommand`` (the runtime side): what
  runs on an instance, EventBridge delivery, the local Lambda runtime, SSM Run Command.

Every port has a no-op default here, so the twin runs (as moto behind one endpoint) with any
subset of real parts plugged in. The loop runs in real time: heartbeat timeouts, cooldowns and
shell ``sleep``s agree without a shimmed clock.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from runnerfleet.asgmodel.types import FleetEvent
from runnerfleet.sandbox.twin.front import Route

log = logging.getLogger("runnerfleet.twin")

#: where instance loopback addresses start: 127.0.0.1 stays the front's, so scrapes of an
#: instance are distinguishable from calls to the endpoint
FIRST_INSTANCE_NET = 100


@dataclass(frozen=True)
class GroupEvent:
    """One model event of one group, with what the effects need to publish it; or a notice
    the group publishes as it is (instance refresh events: ``detail-type`` and ``detail``)."""

    group_name: str
    event: FleetEvent | None
    hook_name: str = ""  # the lifecycle hook of a LAUNCH_ACTION / TERMINATE_ACTION
    token: str = ""  # its LifecycleActionToken
    metadata: str = ""  # the hook's NotificationMetadata
    notice: Mapping[str, Any] | None = None


class Groups(Protocol):
    """The Auto Scaling groups of every deployed stack, as the model runs them."""

    def call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One Auto Scaling API action with boto3-shaped params; returns the output dict."""
        ...

    def sync_stack(self, stack_name: str) -> None:
        """Adopt, update or drop the groups of a stack after CloudFormation changed it."""
        ...

    def tick(self, now: float) -> list[GroupEvent]:
        """Let the models run up to ``now``; every event since the last tick, in order."""
        ...


class InstanceRuntime(Protocol):
    """What runs on an emulated instance: its user data, on its own loopback address."""

    def start(
        self,
        instance_id: str,
        group_name: str,
        launch_template_data: Mapping[str, Any],
        user_data: str,
    ) -> str:
        """Boot the instance (run its user data); returns its loopback address."""
        ...

    def stop(self, instance_id: str) -> None:
        """The instance is terminated: whatever still runs on it dies."""
        ...

    def address_of(self, instance_id: str) -> str | None: ...

    def spot_notice(self, instance_id: str, at: float) -> None:
        """IMDS ``spot/instance-action`` answers from now on (termination at ``at``)."""
        ...


class EventBus(Protocol):
    """EventBridge: match every enabled rule's pattern and deliver to its targets."""

    def publish(self, event: Mapping[str, Any]) -> None: ...

    def tick(self, now: float) -> None:
        """Fire the scheduled rules that are due."""
        ...


class LambdaRuntime(Protocol):
    def invoke(self, function_name: str, payload: bytes, invocation_type: str) -> tuple[int, bytes]:
        """Run the deployed function; (HTTP status, response payload) as Lambda's Invoke."""
        ...


class RunCommand(Protocol):
    def send(
        self,
        document_name: str,
        instance_ids: Sequence[str],
        parameters: Mapping[str, Sequence[str]],
        comment: str = "",
    ) -> str:
        """Start the document's steps on the instances; returns the command id."""
        ...

    def invocation(self, command_id: str, instance_id: str) -> Mapping[str, Any]:
        """GetCommandInvocation's output for one instance."""
        ...


class NoGroups:
    """No group is modelled: Auto Scaling stays moto's."""

    def call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(action)

    def sync_stack(self, stack_name: str) -> None:
        return None

    def tick(self, now: float) -> list[GroupEvent]:
        return []


class LoopbackInstances:
    """Gives every instance its own loopback address and runs nothing on it."""

    def __init__(self) -> None:
        self._addresses: dict[str, str] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def start(
        self,
        instance_id: str,
        group_name: str,
        launch_template_data: Mapping[str, Any],
        user_data: str,
    ) -> str:
        with self._lock:
            if instance_id not in self._addresses:
                self._addresses[instance_id] = loopback_address(next(self._numbers))
            return self._addresses[instance_id]

    def stop(self, instance_id: str) -> None:
        return None  # the address stays with the id: a terminated instance keeps its IP

    def address_of(self, instance_id: str) -> str | None:
        with self._lock:
            return self._addresses.get(instance_id)

    def spot_notice(self, instance_id: str, at: float) -> None:
        return None


def loopback_address(n: int) -> str:
    """The n-th instance address (n >= 1): 127.0.100.1 .. 127.0.100.250, 127.0.101.1, ..."""
    net, host = divmod(n - 1, 250)
    return f"127.0.{FIRST_INSTANCE_NET + net}.{host + 1}"


class LoggedEvents:
    """Publishes nothing; remembers the last events for diagnosis."""

    def __init__(self, keep: int = 200) -> None:
        self.published: list[Mapping[str, Any]] = []
        self._keep = keep

    def publish(self, event: Mapping[str, Any]) -> None:
        self.published = [*self.published[-(self._keep - 1) :], event]
        log.info("event (no bus): %s %s", event.get("source"), event.get("detail-type"))

    def tick(self, now: float) -> None:
        return None


class NoLambdas:
    def invoke(self, function_name: str, payload: bytes, invocation_type: str) -> tuple[int, bytes]:
        raise NotImplementedError(f"Invoke {function_name}")


class NoRunCommand:
    def send(
        self,
        document_name: str,
        instance_ids: Sequence[str],
        parameters: Mapping[str, Sequence[str]],
        comment: str = "",
    ) -> str:
        raise NotImplementedError(f"SendCommand {document_name}")

    def invocation(self, command_id: str, instance_id: str) -> Mapping[str, Any]:
        raise NotImplementedError(f"GetCommandInvocation {command_id}")


@dataclass(frozen=True)
class TwinSettings:
    """What the twin process was started with."""

    region: str
    account_id: str
    home: Path  # per-instance roots and logs live under it
    endpoint: str = ""  # the front's URL, known once it listens
    tick_s: float = 0.5  # how often the world loop runs
    schedule_factor: float = 1.0  # EventBridge schedules run this many times faster
    pending_s: float = 1.0  # EC2 "pending" before an instance reaches its launch hook
    terminating_s: float = 1.0  # EC2 "shutting-down" after Terminating:Proceed
    hold_actions: bool = False  # True: lifecycle actions wait for a client even with no runtime


@dataclass
class Twin:
    """The whole sandbox twin; the front and the loop both act on it under ``lock``."""

    settings: TwinSettings
    groups: Groups = field(default_factory=NoGroups)
    instances: InstanceRuntime = field(default_factory=LoopbackInstances)
    bus: EventBus = field(default_factory=LoggedEvents)
    lambdas: LambdaRuntime = field(default_factory=NoLambdas)
    commands: RunCommand = field(default_factory=NoRunCommand)
    routes: dict[str, Route] = field(default_factory=dict)  # service -> what answers it
    effects: list[Callable[[GroupEvent], None]] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)  # run at shutdown
    clock: Callable[[], float] = time.time
    lock: threading.RLock = field(default_factory=threading.RLock)
    ticks: int = 0

    def tick(self) -> None:
        """One turn of the world: the models advance, their events take effect, schedules fire."""
        now = self.clock()
        with self.lock:
            events = self.groups.tick(now)
            self.ticks += 1
        for event in events:
            for effect in self.effects:
                _guarded(effect, event)
        self.bus.tick(now)

    def close(self) -> None:
        """Stop everything the parts started (instance processes, Lambda workers), newest first."""
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("closing %s failed", closer)


def _guarded(effect: Callable[[GroupEvent], None], event: GroupEvent) -> None:
    """Best effort, as AWS's own event delivery: one failing effect never stops the world."""
    try:
        effect(event)
    except Exception:
        log.exception("effect %s failed for %s", getattr(effect, "__name__", effect), event)


class WorldLoop:
    """The background thread that turns the world every ``tick_s`` seconds until stopped."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twin-world", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(wait_s)

    def _run(self) -> None:
        while not self._stop.wait(self.twin.settings.tick_s):
            try:
                self.twin.tick()
            except Exception:
                log.exception("world tick failed")
