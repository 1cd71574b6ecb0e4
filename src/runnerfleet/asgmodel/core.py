"""The transitions behind ``runnerfleet.asgmodel.group.Fleet``: timers, hooks, reconciliation.

Split from the public API so each module stays readable; nothing here is public.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from runnerfleet.asgmodel.types import (
    CONTINUE,
    COUNTED,
    TERMINATING,
    WAITING,
    WARM,
    EventKind,
    FleetConfig,
    FleetEvent,
    FleetModelError,
    HookConfig,
    validation_error,
)
from runnerfleet.scaling.types import LifecycleState

S = LifecycleState
EC2, ASG, POOL = "EC2", "AutoScalingGroup", "WarmPool"


@dataclass(slots=True)
class Instance:
    instance_id: str
    state: LifecycleState
    launched_at: float
    state_since: float
    protected: bool = False
    from_warm_pool: bool = False
    hook: HookConfig | None = None
    action_deadline: float | None = None
    action_global_deadline: float | None = None
    to_warm_pool: bool = False  # a scale-in that returns the instance to the pool
    timer_at: float | None = None  # when Pending / Warmed:Pending / Terminating:Proceed ends
    spot_kill_at: float | None = None
    running_since: float | None = None
    periods: list[tuple[float, float]] = field(default_factory=list)


class FleetCore:
    """State and transitions; the public calls live in ``Fleet``."""

    def __init__(self, config: FleetConfig, new_id: Callable[[], str] | None = None) -> None:
        self.config = config
        self._new_id = new_id  # the caller's instance ids (unique across groups); else i-<seq>
        self.min_size = config.min_size
        self.max_size = config.max_size
        self.desired = config.desired
        self.cooldown_until = -float("inf")
        self._seq = 0
        self._instances: dict[str, Instance] = {}
        self._gone: dict[str, Instance] = {}
        self._timers: list[tuple[float, int, str]] = []
        self._outbox: list[FleetEvent] = []

    # ----- small helpers ------------------------------------------------------------------

    def _get(self, instance_id: str) -> Instance:
        inst = self._instances.get(instance_id)
        if inst is None:
            raise self._not_found(instance_id)
        return inst

    @staticmethod
    def _not_found(instance_id: str) -> FleetModelError:
        return validation_error(
            f"Instance Id not found - No managed instance found for instance ID: {instance_id}",
            hint="check the instance id: it must belong to this fleet",
        )

    def _waiting(self, instance_id: str) -> Instance:
        inst = self._instances.get(instance_id)
        if inst is None or inst.state not in WAITING:
            raise validation_error(
                f"No active Lifecycle Action found with instance ID {instance_id}",
                hint="the action was already completed or timed out; nothing left to do",
            )
        return inst

    def _emit(
        self,
        at: float,
        kind: EventKind,
        inst: Instance,
        *,
        origin: str = "",
        destination: str = "",
        detail: str = "",
    ) -> None:
        self._outbox.append(FleetEvent(at, kind, inst.instance_id, origin, destination, detail))

    def _push(self, at: float, instance_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (at, self._seq, instance_id))

    @staticmethod
    def _set(inst: Instance, state: LifecycleState, now: float) -> None:
        inst.state = state
        inst.state_since = now

    @staticmethod
    def _stop_billing(inst: Instance, now: float) -> None:
        if inst.running_since is not None:
            inst.periods.append((inst.running_since, now))
            inst.running_since = None

    def _new_instance(self, state: LifecycleState, now: float) -> Instance:
        self._seq += 1
        iid = self._new_id() if self._new_id is not None else f"i-{self._seq:017x}"
        inst = _make(iid, state, now)
        self._instances[inst.instance_id] = inst
        return inst

    # ----- timers -------------------------------------------------------------------------

    def _run_timers(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            at, _, iid = heapq.heappop(self._timers)
            inst = self._instances.get(iid)
            if inst is not None:
                self._timer_fired(inst, at)

    def _timer_fired(self, inst: Instance, at: float) -> None:
        if inst.spot_kill_at is not None and at >= inst.spot_kill_at:
            self._terminated(inst, at, "spot interruption")  # hooks cannot delay it [UG]
        elif inst.state in WAITING and inst.action_deadline == at:
            assert inst.hook is not None
            result = inst.hook.default_result
            self._emit(at, EventKind.HOOK_TIMEOUT, inst, detail=result)
            self._finish_action(inst, result, at)
        elif inst.timer_at == at:
            inst.timer_at = None
            self._timer_transition(inst, at)
        else:
            return  # a stale timer: the instance moved on
        self._reconcile(at)

    def _timer_transition(self, inst: Instance, at: float) -> None:
        hook = self.config.launch_hook
        if inst.state is S.PENDING:
            if hook is None:
                self._in_service(inst, at)
            else:
                origin = POOL if inst.from_warm_pool else EC2
                route = (EventKind.LAUNCH_ACTION, origin, ASG, "")
                self._begin_action(inst, hook, S.PENDING_WAIT, at, route)
        elif inst.state is S.WARMED_PENDING:
            if hook is None:
                self._warmed(inst, at)  # "does not wait for user data" without a hook
            else:
                route = (EventKind.LAUNCH_ACTION, EC2, POOL, "")
                self._begin_action(inst, hook, S.WARMED_PENDING_WAIT, at, route)
        elif inst.state is S.TERMINATING_PROCEED:
            self._terminated(inst, at, "")

    # ----- lifecycle actions --------------------------------------------------------------

    def _begin_action(
        self,
        inst: Instance,
        hook: HookConfig,
        state: LifecycleState,
        at: float,
        route: tuple[EventKind, str, str, str],
    ) -> None:
        """Enter a wait state; ``route`` is (event kind, origin, destination, detail)."""
        kind, origin, destination, detail = route
        self._set(inst, state, at)
        inst.hook = hook
        inst.action_deadline = at + hook.heartbeat_timeout_s
        inst.action_global_deadline = at + hook.global_timeout_s
        self._push(inst.action_deadline, inst.instance_id)
        self._emit(at, kind, inst, origin=origin, destination=destination, detail=detail)

    def _finish_action(self, inst: Instance, result: str, at: float) -> None:
        state = inst.state
        inst.hook = inst.action_deadline = inst.action_global_deadline = None
        if state is S.TERMINATING_WAIT:
            self._proceed_to_terminate(inst, at)  # both results terminate [UG]
        elif result != CONTINUE:
            self._proceed_to_terminate(inst, at)  # an abandoned launch is replaced [UG]
        elif state is S.PENDING_WAIT:
            self._in_service(inst, at)
        else:
            self._warmed(inst, at)

    def _in_service(self, inst: Instance, at: float) -> None:
        self._set(inst, S.IN_SERVICE, at)
        self._emit(at, EventKind.IN_SERVICE, inst)
        # the cooldown starts when the launch (and its hook) completes [UG:cooldowns]
        self.cooldown_until = max(self.cooldown_until, at + self.config.default_cooldown_s)

    def _warmed(self, inst: Instance, at: float) -> None:
        pool = self.config.warm_pool
        if pool is None:  # the pool was deleted while the instance was on its way in
            self._terminated(inst, at, "warm pool deleted")
            return
        running = pool is not None and pool.pool_state == "Running"
        self._set(inst, S.WARMED_RUNNING if running else S.WARMED_STOPPED, at)
        inst.to_warm_pool = False
        if not running:
            self._stop_billing(inst, at)
        self._emit(at, EventKind.WARMED, inst)

    def _begin_terminate(self, inst: Instance, at: float, cause: str) -> None:
        # without a load balancer the scale-in cooldown starts now, not after the hook [UG]
        self.cooldown_until = max(self.cooldown_until, at + self.config.default_cooldown_s)
        inst.hook = inst.action_deadline = inst.action_global_deadline = None
        inst.timer_at = None
        pool = self.config.warm_pool
        hook = self.config.terminate_hook
        if pool is not None and pool.reuse_on_scale_in and cause == "scale-in":
            inst.to_warm_pool = True
            if hook is None:
                self._warmed(inst, at)
            else:
                route = (EventKind.TERMINATE_ACTION, ASG, POOL, cause)
                self._begin_action(inst, hook, S.WARMED_PENDING_WAIT, at, route)
        elif hook is not None:
            self._set(inst, S.TERMINATING, at)
            route = (EventKind.TERMINATE_ACTION, ASG, EC2, cause)
            self._begin_action(inst, hook, S.TERMINATING_WAIT, at, route)
        else:
            self._set(inst, S.TERMINATING, at)
            self._proceed_to_terminate(inst, at)

    def _proceed_to_terminate(self, inst: Instance, at: float) -> None:
        self._set(inst, S.TERMINATING_PROCEED, at)
        if self.config.terminating_s <= 0:
            self._terminated(inst, at, "")
        else:
            inst.timer_at = at + self.config.terminating_s
            self._push(inst.timer_at, inst.instance_id)

    def _terminated(self, inst: Instance, at: float, cause: str) -> None:
        warm = inst.state in WARM
        self._set(inst, S.WARMED_TERMINATED if warm else S.TERMINATED, at)
        inst.hook = inst.action_deadline = inst.action_global_deadline = inst.timer_at = None
        self._stop_billing(inst, at)
        del self._instances[inst.instance_id]
        self._gone[inst.instance_id] = inst
        self._emit(at, EventKind.TERMINATED, inst, detail=cause)

    # ----- reaching the desired capacity --------------------------------------------------

    def _reconcile(self, at: float) -> None:
        counted = [i for i in self._instances.values() if i.state in COUNTED]
        missing = self.desired - len(counted)
        for _ in range(max(0, missing)):
            self._launch(at)
        if missing < 0:
            # protection is effective from InService on [UG:instance-protection]
            victims = [i for i in counted if not (i.protected and i.state is S.IN_SERVICE)]
            victims.sort(
                key=lambda i: (i.launched_at, i.instance_id),
                reverse=self.config.termination_policy == "NewestInstance",
            )
            for inst in victims[:-missing]:
                self._begin_terminate(inst, at, "scale-in")
        self._reconcile_warm_pool(at)

    def _launch(self, at: float) -> None:
        warm = [
            i for i in self._instances.values() if i.state in (S.WARMED_STOPPED, S.WARMED_RUNNING)
        ]
        if warm:
            inst = warm[0]
            self._set(inst, S.PENDING, at)
            inst.from_warm_pool = True
            origin = POOL
        else:
            inst = self._new_instance(S.PENDING, at)
            origin = EC2
        if inst.running_since is None:
            inst.running_since = at
        inst.protected = self.config.new_instances_protected
        inst.timer_at = at + self.config.pending_s
        self._push(inst.timer_at, inst.instance_id)
        self._emit(at, EventKind.LAUNCHING, inst, origin=origin, destination=ASG)

    def _reconcile_warm_pool(self, at: float) -> None:
        pool = self.config.warm_pool
        if pool is None:
            return
        cap = pool.max_group_prepared_capacity
        target = max(pool.min_size, (self.max_size if cap is None else cap) - self.desired, 0)
        members = [i for i in self._instances.values() if i.state in WARM]
        for _ in range(target - len(members)):
            inst = self._new_instance(S.WARMED_PENDING, at)
            inst.running_since = at
            inst.timer_at = at + self.config.pending_s
            self._push(inst.timer_at, inst.instance_id)
            self._emit(at, EventKind.LAUNCHING, inst, origin=EC2, destination=POOL)
        idle = [i for i in members if i.state in (S.WARMED_STOPPED, S.WARMED_RUNNING)]
        for inst in idle[: max(0, len(members) - target)]:
            self._terminated(inst, at, "warm pool shrink")


def _make(instance_id: str, state: LifecycleState, now: float) -> Instance:
    return Instance(instance_id, state, now, now)


__all__ = ["TERMINATING", "FleetCore", "Instance"]
