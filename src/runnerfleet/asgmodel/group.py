"""A pure, in-memory model of one EC2 Auto Scaling group, faithful to the AWS documentation.

The emulator has no lifecycle-hook waiting, heartbeats or warm pool, so the simulator, the
day-2 checks and the sandbox drive this model instead. Time is a value passed into every call;
the model never reads a clock. Facts and their sources: shared ``aws-autoscaling-facts.md``.

Modelled behaviour:
- scale-out ``Pending -> Pending:Wait (launch hook) -> InService``; from the warm pool
  ``Warmed:Stopped -> Pending -> Pending:Wait -> InService`` [UG:warm-pool-instance-lifecycle];
- scale-in ``InService -> Terminating -> Terminating:Wait (terminate hook) -> Terminated``;
- heartbeats restart the hook timeout, capped by the global timeout; on timeout the hook's
  DefaultResult applies; a Complete or heartbeat without an active action is a ValidationError;
- min/max checks, ``HonorCooldown`` (ScalingActivityInProgressFault), the cooldown starting
  when an instance finishes launching (after the launch hook) or starts terminating;
- scale-in protection (respected by scale-in, ignored by TerminateInstanceInAutoScalingGroup and
  spot interruptions; effective from InService on);
- spot interruptions: a warning, then termination 120 s later whatever the hooks say.
Simplifications: one AZ, one hook of each kind, warm-pool instances leave the pool without a
terminate hook, EC2 billing is tracked per running period (stopped warm instances cost nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from runnerfleet.asgmodel.core import FleetCore
from runnerfleet.asgmodel.types import (
    ABANDON,
    CONTINUE,
    COUNTED,
    GONE,
    SPOT_NOTICE_S,
    WARM,
    EventKind,
    FleetConfig,
    FleetEvent,
    FleetModelError,
    HookConfig,
    InstanceStatus,
    WarmPoolConfig,
    validation_error,
)
from runnerfleet.scaling.types import LifecycleState

__all__ = [
    "ABANDON",
    "CONTINUE",
    "EventKind",
    "Fleet",
    "FleetConfig",
    "FleetEvent",
    "FleetModelError",
    "HookConfig",
    "InstanceStatus",
    "WarmPoolConfig",
]


class Fleet(FleetCore):
    """One Auto Scaling group. Call ``advance(now)`` to let time pass and collect events."""

    def __init__(
        self,
        config: FleetConfig,
        now: float,
        *,
        in_service: int | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        """Start with ``in_service`` instances already InService (default: the desired count).

        ``new_id`` names new instances (default ``i-<sequence>``, unique in this fleet only).
        """
        super().__init__(config, new_id)
        for _ in range(config.desired if in_service is None else in_service):
            inst = self._new_instance(LifecycleState.IN_SERVICE, now)
            inst.running_since = now
            inst.protected = config.new_instances_protected
        self._reconcile(now)

    # ----- API (names follow the AWS calls) -----------------------------------------------

    def set_desired(self, n: int, honor_cooldown: bool, now: float) -> None:
        """SetDesiredCapacity. Manual scaling ignores the cooldown unless asked [BC-AS]."""
        self._run_timers(now)
        if n > self.max_size:
            raise validation_error(
                f"New SetDesiredCapacity value {n} is above max value {self.max_size} "
                "for the AutoScalingGroup."
            )
        if n < self.min_size:
            raise validation_error(
                f"New SetDesiredCapacity value {n} is below min value {self.min_size} "
                "for the AutoScalingGroup."
            )
        if honor_cooldown and (now < self.cooldown_until or self.activity_in_progress()):
            raise FleetModelError(
                "ScalingActivityInProgressFault",
                "Scaling activity is in progress and blocks this action",
                hint="retry after the cooldown, or call with honor_cooldown=False",
            )
        self.desired = n
        self._reconcile(now)

    def update_limits(
        self, now: float, *, min_size: int | None = None, max_size: int | None = None
    ) -> None:
        """UpdateAutoScalingGroup MinSize/MaxSize; desired is pulled inside the new bounds."""
        self._run_timers(now)
        lo = self.min_size if min_size is None else min_size
        hi = self.max_size if max_size is None else max_size
        if not 0 <= lo <= hi:
            raise validation_error(f"MinSize {lo} must be between 0 and MaxSize {hi}")
        self.min_size, self.max_size = lo, hi
        self.desired = min(max(self.desired, lo), hi)
        self._reconcile(now)

    def terminate_instance(self, instance_id: str, decrement: bool, now: float) -> None:
        """TerminateInstanceInAutoScalingGroup: goes through the terminate hook, ignores
        scale-in protection and the cooldown; without decrement a replacement launches."""
        self._run_timers(now)
        inst = self._get(instance_id)
        if inst.state in WARM:
            raise validation_error(
                f"Instance {instance_id} is in the warm pool; it cannot be terminated this way"
            )
        if inst.state not in COUNTED:
            raise validation_error(
                f"Instance {instance_id} is already {inst.state.value}",
                hint="wait for it to finish terminating; `runnerfleet logs` shows the drain",
            )
        if decrement:
            if self.desired - 1 < self.min_size:
                raise validation_error(
                    f"Currently, desiredSize equals minSize ({self.min_size}). Terminating "
                    "instance without replacement will violate group's min size constraint. "
                    "Either set shouldDecrementDesiredCapacity flag to false or lower group's "
                    "min size."
                )
            self.desired -= 1
        self._begin_terminate(inst, now, "manual")
        self._reconcile(now)

    def set_instance_protection(
        self, ids: list[str] | tuple[str, ...], protected: bool, now: float
    ) -> None:
        """SetInstanceProtection (at most 50 ids, not for warm-pool instances)."""
        self._run_timers(now)
        if len(ids) > 50:
            raise FleetModelError("LimitExceededFault", "at most 50 instance IDs per call")
        insts = [self._get(i) for i in ids]
        for inst in insts:
            if inst.state not in COUNTED:
                raise validation_error(
                    f"The instance {inst.instance_id} is not in InService or EnteringStandby "
                    "or Standby."
                )
        for inst in insts:
            inst.protected = protected
        if not protected:
            self._reconcile(now)

    def complete_lifecycle_action(self, instance_id: str, result: str, now: float) -> None:
        """CompleteLifecycleAction by instance id."""
        self._run_timers(now)
        if result not in (CONTINUE, ABANDON):
            raise validation_error(f"LifecycleActionResult must be CONTINUE or ABANDON: {result!r}")
        inst = self._waiting(instance_id)
        self._finish_action(inst, result, now)
        self._reconcile(now)

    def record_heartbeat(self, instance_id: str, now: float) -> None:
        """RecordLifecycleActionHeartbeat: restarts the timeout, capped by the global one."""
        self._run_timers(now)
        inst = self._waiting(instance_id)
        assert inst.hook is not None and inst.action_global_deadline is not None
        inst.action_deadline = min(now + inst.hook.heartbeat_timeout_s, inst.action_global_deadline)
        self._push(inst.action_deadline, inst.instance_id)

    def interrupt_spot(self, instance_id: str, now: float) -> None:
        """EC2 reclaims a spot instance: a warning now, the instance gone two minutes later."""
        self._run_timers(now)
        inst = self._get(instance_id)
        if not self.config.spot:
            raise validation_error("this group launches on-demand instances, not spot")
        if inst.state in GONE or inst.spot_kill_at is not None:
            return
        inst.spot_kill_at = now + SPOT_NOTICE_S
        self._push(inst.spot_kill_at, inst.instance_id)
        self._emit(now, EventKind.SPOT_WARNING, inst, detail="terminate")
        if self.config.capacity_rebalance and inst.state in COUNTED and not inst.protected:
            # "calls the termination lifecycle hook and attempts to launch a replacement
            # immediately" [UG:ec2-auto-scaling-capacity-rebalancing]
            self._begin_terminate(inst, now, "spot")
            self._reconcile(now)

    def reconfigure(self, now: float, **changes: Any) -> None:
        """Change the group's settings (PutLifecycleHook, PutWarmPool, UpdateAutoScalingGroup).

        Instances already waiting keep the hook they entered with; a removed launch or
        terminate hook first completes its outstanding actions (``remove_hook``).
        """
        self._run_timers(now)
        if "warm_pool" in changes and changes["warm_pool"] is None:
            self._drop_warm_pool(now)
        self.config = dataclasses.replace(self.config, **changes)
        self._reconcile(now)

    def remove_hook(self, transition: str, now: float) -> None:
        """DeleteLifecycleHook: "If there are any outstanding lifecycle actions, they are
        completed first (ABANDON for launching instances, CONTINUE for terminating instances)"
        [BC-AS DeleteLifecycleHook]. ``transition`` is ``launch`` or ``terminate``."""
        self._run_timers(now)
        launching = transition == "launch"
        waiting = LifecycleState.TERMINATING_WAIT
        for inst in list(self._instances.values()):
            if inst.hook is None or (inst.state is waiting) == launching:
                continue
            self._finish_action(inst, ABANDON if launching else CONTINUE, now)
        if launching:
            self.config = dataclasses.replace(self.config, launch_hook=None)
        else:
            self.config = dataclasses.replace(self.config, terminate_hook=None)
        self._reconcile(now)

    def _drop_warm_pool(self, now: float) -> None:
        """DeleteWarmPool: the pool's idle instances are terminated; those still on their way
        in are terminated once they arrive (``_warmed``)."""
        idle = (LifecycleState.WARMED_STOPPED, LifecycleState.WARMED_RUNNING)
        for inst in list(self._instances.values()):
            if inst.state in idle:
                self._terminated(inst, now, "warm pool deleted")

    def force_delete(self, now: float) -> None:
        """DeleteAutoScalingGroup with ForceDelete: every instance goes at once, no hook runs
        ("do not apply to ... DeleteAutoScalingGroup with force delete") [UG:lifecycle-hooks]."""
        self._run_timers(now)
        self.min_size = self.max_size = self.desired = 0
        for inst in list(self._instances.values()):
            self._terminated(inst, now, "force delete")

    def advance(self, now: float) -> list[FleetEvent]:
        """Let time pass up to ``now``; returns every event since the last call, in order."""
        self._run_timers(now)
        events, self._outbox = self._outbox, []
        return events

    # ----- queries ------------------------------------------------------------------------

    def describe(self) -> tuple[InstanceStatus, ...]:
        """Every live instance (group and warm pool), oldest first."""
        return tuple(self.status(i) for i in self._instances)

    def members(self) -> list[tuple[str, LifecycleState, bool, float]]:
        """(id, state, protected, launched_at) of every live instance, oldest first: what an
        autoscaler reads of ``describe()``, without building a status per instance."""
        return [
            (i.instance_id, i.state, i.protected, i.launched_at) for i in self._instances.values()
        ]

    def status(self, instance_id: str) -> InstanceStatus:
        inst = self._get(instance_id)
        return InstanceStatus(
            instance_id=inst.instance_id,
            state=inst.state,
            launched_at=inst.launched_at,
            state_since=inst.state_since,
            protected=inst.protected,
            from_warm_pool=inst.from_warm_pool,
            action_deadline=inst.action_deadline,
            spot_kill_at=inst.spot_kill_at,
        )

    def state_of(self, instance_id: str) -> LifecycleState:
        inst = self._instances.get(instance_id) or self._gone.get(instance_id)
        if inst is None:
            raise self._not_found(instance_id)
        return inst.state

    def next_due(self) -> float | None:
        """The earliest time at which ``advance`` would change something by itself."""
        return self._timers[0][0] if self._timers else None

    def activity_in_progress(self) -> bool:
        return any(
            i.state not in WARM and i.state is not LifecycleState.IN_SERVICE
            for i in self._instances.values()
        )

    def running_periods(self, now: float) -> list[tuple[float, float]]:
        """Every EC2 running period (start, end) so far, open ones closed at ``now``."""
        out: list[tuple[float, float]] = []
        for inst in (*self._gone.values(), *self._instances.values()):
            out.extend(inst.periods)
            if inst.running_since is not None:
                out.append((inst.running_since, max(now, inst.running_since)))
        return out

    def billed_seconds(self, now: float, minimum_s: float = 60.0) -> float:
        """Per-second billing with a minimum per started period [EC2 on-demand pricing]."""
        return sum(max(minimum_s, end - start) for start, end in self.running_periods(now))
