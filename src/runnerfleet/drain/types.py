"""Value types of the drain decisions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_GLOBAL_TIMEOUT_S = 172800.0  # 48 h cap on a lifecycle action, whatever the heartbeats
MIN_HEARTBEAT_TIMEOUT_S = 30.0
MAX_HEARTBEAT_TIMEOUT_S = 7200.0
# Unregister this long before a spot reclaim: the jobs die with the instance anyway, the runner
# manager must not outlive it in GitLab.
SPOT_UNREGISTER_LEAD_S = 30.0


class CommandStatus(StrEnum):
    """Where the drain command stands, as seen from outside the instance."""

    NOT_SENT = "not_sent"
    PENDING = "pending"  # sent; the agent has not started it (Pending, Delayed)
    RUNNING = "running"  # InProgress on the instance
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # it ran on the instance and failed, timed out or was cancelled
    UNREACHABLE = "unreachable"  # the instance cannot run it: InvalidInstanceId, Undeliverable


class DrainAction(StrEnum):
    SEND = "send"  # send the drain command to the instance
    STOP_RUNNER = "stop_runner"  # stop taking jobs (systemctl stop with the SIGQUIT drop-in)
    HEARTBEAT = "heartbeat"  # RecordLifecycleActionHeartbeat: jobs still run
    WAIT = "wait"  # nothing to do until next_check_at
    UNREGISTER = "unregister"  # jobs are done (or the drain budget is spent): unregister
    CONTINUE = "continue"  # CompleteLifecycleAction CONTINUE
    ABANDON = "abandon"  # CompleteLifecycleAction ABANDON: the instance cannot run the drain
    DONE = "done"  # the lifecycle action is already complete


@dataclass(frozen=True, slots=True)
class DrainLimits:
    """The hook's timeout and the operator's drain budget, in seconds."""

    heartbeat_timeout_s: float
    max_drain_s: float
    unreachable_timeout_s: float | None = None  # default: half the heartbeat timeout, <= 120 s

    def __post_init__(self) -> None:
        if not MIN_HEARTBEAT_TIMEOUT_S <= self.heartbeat_timeout_s <= MAX_HEARTBEAT_TIMEOUT_S:
            raise ValueError("heartbeat_timeout_s must be within 30..7200 (the AWS range)")
        if self.max_drain_s <= 0:
            raise ValueError("max_drain_s must be positive")
        if self.unreachable_timeout_s is not None and not (
            0 <= self.unreachable_timeout_s < self.heartbeat_timeout_s
        ):
            raise ValueError("unreachable_timeout_s must be below the heartbeat timeout")

    @property
    def global_timeout_s(self) -> float:
        """AWS ends any lifecycle action after min(48 h, 100 x heartbeat timeout)."""
        return min(MAX_GLOBAL_TIMEOUT_S, 100 * self.heartbeat_timeout_s)

    @property
    def heartbeat_every_s(self) -> float:
        """Heartbeat at half the timeout, so one lost heartbeat still leaves time for another."""
        return self.heartbeat_timeout_s / 2

    @property
    def drain_budget_s(self) -> float:
        """How long jobs may run: the operator's maximum, capped below the global timeout."""
        return min(self.max_drain_s, self.global_timeout_s - self.heartbeat_timeout_s)

    @property
    def give_up_after_s(self) -> float:
        """How long to keep trying to reach an instance before ABANDON."""
        if self.unreachable_timeout_s is not None:
            return self.unreachable_timeout_s
        return min(120.0, self.heartbeat_timeout_s / 2)


@dataclass(frozen=True, slots=True)
class DrainState:
    """What is known about one lifecycle action at time ``now``."""

    now: float
    started_at: float  # when the instance entered Terminating:Wait (the event's time)
    command: CommandStatus = CommandStatus.NOT_SENT
    running_jobs: int | None = None  # None: unknown, counts as busy
    runner_stopped: bool = False
    unregistered: bool = False
    last_heartbeat_at: float | None = None  # None: the timeout runs from started_at
    completed: bool = False
    kill_at: float | None = None  # spot: when EC2 reclaims the instance (IMDS instance-action)

    @property
    def elapsed_s(self) -> float:
        return max(0.0, self.now - self.started_at)

    @property
    def busy(self) -> bool:
        return self.running_jobs is None or self.running_jobs > 0


@dataclass(frozen=True, slots=True)
class DrainDecision:
    action: DrainAction
    reason: str
    next_check_at: float | None = None  # when to look again (WAIT, HEARTBEAT)
    failure: bool = False  # report loudly: a log line at ERROR and a failure metric
