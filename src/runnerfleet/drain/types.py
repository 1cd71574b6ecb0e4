"""Value types of the drain model: limits (the policy's numbers), the per-instance record, what
is observed at one moment, and the decision.

The drain of one instance is a small state machine: ``DrainState`` records what has been done
(and whether it worked), an ``Observation`` says what is seen now, ``drain_step`` decides the next
action and ``record`` folds its outcome back into the state. Nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runnerfleet.scaling.lifecycle import global_timeout_s, heartbeat_timeout_problem

# Three heartbeats per timeout: when one fails, retries every ``poll_s`` still have two thirds of
# the timeout left, and a second lost cadence does not end the action either.
HEARTBEATS_PER_TIMEOUT = 3
# Unregister this long before a spot reclaim: the jobs die with the instance anyway, the runner
# manager must not outlive it in GitLab.
SPOT_UNREGISTER_LEAD_S = 30.0
POLL_S = 5.0  # look at the runner (and the spot notice, as AWS advises) every 5 s
RETRY_S = 2.0  # pause before retrying a failed unregister or complete
ATTEMPTS = 3  # unregister and complete are tried this many times
KILL_GRACE_S = 60  # after aborting the jobs (SIGTERM), SIGKILL the runner this much later
GIVE_UP_CAP_S = 120.0  # the longest wait for an unreachable instance, by default


class CommandStatus(StrEnum):
    """Where the drain command stands, as seen from outside the instance."""

    NOT_SENT = "not_sent"
    PENDING = "pending"  # sent; the agent has not started it (Pending, Delayed)
    RUNNING = "running"  # InProgress on the instance
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # it ran on the instance and failed, timed out or was cancelled
    UNREACHABLE = "unreachable"  # the instance cannot run it: InvalidInstanceId, Undeliverable


#: the command reached the instance: the rest of the drain happens there
COMMAND_RAN = frozenset({CommandStatus.RUNNING, CommandStatus.SUCCEEDED, CommandStatus.FAILED})


class DrainAction(StrEnum):
    SEND = "send"  # send the drain command to the instance
    STOP_RUNNER = "stop"  # stop taking jobs (systemctl stop with the SIGQUIT drop-in)
    HEARTBEAT = "heartbeat"  # RecordLifecycleActionHeartbeat: jobs still run
    WAIT = "wait"  # nothing to do until next_check_at (or until something changes)
    ABORT_JOBS = "abort"  # the drain budget is spent: abort the running jobs (SIGTERM)
    UNREGISTER = "unregister"  # unregister this instance's runner manager
    CONTINUE = "continue"  # CompleteLifecycleAction CONTINUE
    ABANDON = "abandon"  # CompleteLifecycleAction ABANDON: the instance cannot run the drain
    DONE = "done"  # nothing is left to do


@dataclass(frozen=True, slots=True)
class DrainLimits:
    """The hook's heartbeat timeout, the operator's drain budget and the drain's cadences."""

    heartbeat_timeout_s: float
    max_drain_s: float
    unreachable_timeout_s: float | None = None  # default: half the heartbeat timeout, <= 120 s
    kill_grace_s: float = KILL_GRACE_S
    poll_s: float = POLL_S
    retry_s: float = RETRY_S

    def __post_init__(self) -> None:
        problem = heartbeat_timeout_problem(self.heartbeat_timeout_s)
        if problem is not None:
            raise ValueError(f"heartbeat_timeout_s: {problem}")
        if self.max_drain_s <= 0:
            raise ValueError("max_drain_s must be positive")
        if self.unreachable_timeout_s is not None and not (
            0 <= self.unreachable_timeout_s < self.heartbeat_timeout_s
        ):
            raise ValueError("unreachable_timeout_s must be below the heartbeat timeout")

    @property
    def global_timeout_s(self) -> float:
        return global_timeout_s(self.heartbeat_timeout_s)

    @property
    def heartbeat_every_s(self) -> float:
        """Whole seconds, as the drain document receives them."""
        return float(self.heartbeat_timeout_s // HEARTBEATS_PER_TIMEOUT)

    @property
    def drain_budget_s(self) -> float:
        """How long jobs may run: the operator's maximum, capped so that aborting the jobs,
        the kill grace and one more heartbeat timeout still fit in the global timeout."""
        room = self.global_timeout_s - self.heartbeat_timeout_s - self.kill_grace_s
        return float(max(0, int(min(self.max_drain_s, room))))

    @property
    def give_up_after_s(self) -> float:
        """How long to keep trying to reach an instance before ABANDON."""
        if self.unreachable_timeout_s is not None:
            return self.unreachable_timeout_s
        return min(GIVE_UP_CAP_S, self.heartbeat_timeout_s / 2)


@dataclass(frozen=True, slots=True)
class DrainState:
    """What has been done for one instance's drain, and whether it worked."""

    started_at: float  # the terminate lifecycle action (or the spot warning) began
    lifecycle_action: bool = True  # False: a spot warning with no terminate hook behind it
    sent_at: float | None = None
    stopped_at: float | None = None
    aborted_at: float | None = None
    heartbeat_ok_at: float | None = None
    heartbeat_tried_at: float | None = None
    unregister_tries: int = 0
    unregistered: bool = False
    complete_tries: int = 0
    last_try_at: float | None = None  # the last unregister or complete attempt
    result: str | None = None  # CONTINUE or ABANDON once the action is completed


@dataclass(frozen=True, slots=True)
class Observation:
    """What is seen at ``now``."""

    now: float
    command: CommandStatus = CommandStatus.RUNNING
    running_jobs: int | None = None  # None: unknown, counts as busy
    kill_at: float | None = None  # spot: when EC2 reclaims the instance (IMDS instance-action)

    @property
    def busy(self) -> bool:
        return self.running_jobs is None or self.running_jobs > 0


@dataclass(frozen=True, slots=True)
class DrainDecision:
    action: DrainAction
    reason: str
    next_check_at: float | None = None  # WAIT: look again then (None: when something changes)
    failure: bool = False  # report loudly: a log line at ERROR and a failure metric
    delivered: bool = False  # the command runs on the instance: the sender's part is over
