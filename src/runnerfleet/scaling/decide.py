"""``decide()``: one snapshot and one policy in, one decision out. Pure and deterministic.

Rules every policy obeys (enforced here, not in the policies):
- scale-out ignores the cooldown; any decrease of desired capacity honours it;
- scale-in names specific idle instances; busy ones and ones without fresh metrics are never
  chosen, and booting instances count as capacity on the way;
- desired stays within [min_size, max_size]; min_size 0 allows scale to zero;
- while an instance refresh or rolling update runs, nothing changes (the decision only reports).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from runnerfleet.scaling.fleet import FleetView, view_of
from runnerfleet.scaling.policies import (
    BasePolicy,
    HeadroomPolicy,
    IdlePolicy,
    Policy,
    QueuePolicy,
    Schedule,
    policy_name,
    scale_in_idle_s,
)
from runnerfleet.scaling.schedule import active_policy
from runnerfleet.scaling.types import FleetSnapshot, InstanceView, ReasonCode, ScalingDecision


@dataclass(slots=True)
class Target:
    """What a policy wants, before the common rules turn it into a decision."""

    add: int  # instances to launch
    remove_max: int  # at most this many instances may go
    keep_slots: int | None  # job slots that must remain after a scale-in (None: no slot rule)
    idle_time_s: float
    cooldown_s: float
    code: ReasonCode  # the reason code when adding
    reason: str
    floor: int = 0  # instances to keep at least: max(min_size, the policy's min_instances)
    notes: tuple[tuple[str, ...], tuple[ReasonCode, ...]] = ((), ())  # appended to every decision
    policy: str = ""


def decide(snapshot: FleetSnapshot, policy: Policy) -> ScalingDecision:
    """The scaling decision for ``snapshot`` under ``policy``."""
    if isinstance(policy, Schedule):
        active, label = active_policy(policy, snapshot.now)
        return dataclasses.replace(decide(snapshot, active), policy=label)
    fleet = view_of(snapshot, policy.stale_after_s, _concurrent(policy))
    if snapshot.refresh_in_progress:
        return _hold_for_refresh(snapshot, policy)
    target = (
        _seed_target(snapshot, fleet, policy)
        if isinstance(policy, HeadroomPolicy)
        else (_idle_target(snapshot, fleet, policy))
    )
    target.floor = max(snapshot.min_size, min(policy.min_instances, snapshot.max_size))
    notes = _notes(snapshot, fleet, policy)
    target.notes = (tuple(text for _, text in notes), tuple(code for code, _ in notes))
    target.policy = policy_name(policy)
    return _apply_rules(snapshot, fleet, target)


def _concurrent(policy: BasePolicy) -> int | None:
    return policy.concurrent


def _seed_target(snapshot: FleetSnapshot, fleet: FleetView, policy: HeadroomPolicy) -> Target:
    running = fleet.running
    wanted = math.ceil((running + policy.headroom_jobs) / policy.concurrent)
    # instances without metrics may be full: keep room for them before removing any
    keep = math.ceil((running + fleet.unknown_slots() + policy.headroom_jobs) / policy.concurrent)
    reason = (
        f"seed: ceil(({running} running + {policy.headroom_jobs} headroom) / "
        f"{policy.concurrent}) = {wanted} instances, desired is {snapshot.desired}"
    )
    return Target(
        add=max(0, wanted - snapshot.desired),
        remove_max=max(0, snapshot.desired - keep),
        keep_slots=None,
        idle_time_s=0.0,
        cooldown_s=policy.cooldown_s,
        code=ReasonCode.SCALE_OUT_DEMAND,
        reason=reason,
    )


def idle_target(policy: IdlePolicy | QueuePolicy, in_use: int) -> int:
    """Idle slots to keep: max(idle_count, min(ceil(in_use * scale_factor), limit))."""
    if policy.scale_factor <= 0:
        return policy.idle_count
    scaled = math.ceil(round(in_use * policy.scale_factor, 9))  # 10 * 0.3 must give 3, not 4
    if policy.scale_factor_limit > 0:
        scaled = min(scaled, policy.scale_factor_limit)
    return max(policy.idle_count, scaled)


def pending_slots(policy: IdlePolicy | QueuePolicy, pending_jobs: int | None) -> int:
    """Slots the queue asks for: only the queue policy reads it, weighted."""
    if not isinstance(policy, QueuePolicy) or pending_jobs is None:
        return 0
    return math.ceil(round(max(0, pending_jobs) * policy.pending_weight, 9))


def required_slots(policy: IdlePolicy | QueuePolicy, running: int, pending_jobs: int | None) -> int:
    """Slots the idle and queue policies want in service or booting: running jobs, the idle
    target and the queue. Never decreases when running or pending jobs grow."""
    return running + idle_target(policy, running) + pending_slots(policy, pending_jobs)


def _idle_target(
    snapshot: FleetSnapshot, fleet: FleetView, policy: IdlePolicy | QueuePolicy
) -> Target:
    running, per = fleet.running, fleet.slots_per_instance
    idle = idle_target(policy, running)
    pending = pending_slots(policy, snapshot.pending_jobs)
    required, capacity = required_slots(policy, running, snapshot.pending_jobs), fleet.capacity()
    queue_made_it = pending > 0 and running + idle <= capacity
    reason = (
        f"{policy_name(policy)}: {running} running + {idle} idle target + {pending} pending "
        f"= {required} slots needed; {capacity} slots in service or booting ({per}/instance)"
    )
    return Target(
        add=math.ceil((required - capacity) / per) if required > capacity else 0,
        remove_max=fleet.in_group + fleet.phantom,
        keep_slots=required,
        idle_time_s=scale_in_idle_s(policy),
        cooldown_s=policy.cooldown_s,
        code=ReasonCode.SCALE_OUT_QUEUE if queue_made_it else ReasonCode.SCALE_OUT_DEMAND,
        reason=reason,
    )


def _apply_rules(snapshot: FleetSnapshot, fleet: FleetView, target: Target) -> ScalingDecision:
    current = snapshot.desired
    if target.add > 0 or current < target.floor:
        return _scale_out(snapshot, fleet, target)
    phantoms, victims = _plan_scale_in(snapshot, fleet, target)
    if not phantoms and not victims:
        wanted_less = _wanted_less(snapshot, fleet, target)
        code = ReasonCode.HOLD_NO_IDLE if wanted_less else ReasonCode.HOLD_STEADY
        return _hold(snapshot, fleet, target, code, target.reason)
    if in_cooldown(snapshot, target.cooldown_s):
        why = f"{target.reason}; scale-in waits for the {target.cooldown_s:.0f}s cooldown"
        return _hold(snapshot, fleet, target, ReasonCode.HOLD_COOLDOWN, why)
    ids = tuple(v.instance_id for v in victims)
    desired = current - phantoms - len(victims)
    why = f"{target.reason}; removing {len(victims)} idle instance(s)" + (
        f" and {phantoms} launch(es) not yet started" if phantoms else ""
    )
    return _decision(
        snapshot,
        fleet,
        target,
        desired=desired,
        terminate=ids,
        action="scale_in",
        codes=(ReasonCode.SCALE_IN_IDLE,),
        reasons=(why,),
    )


def _scale_out(snapshot: FleetSnapshot, fleet: FleetView, target: Target) -> ScalingDecision:
    current, low, high = snapshot.desired, target.floor, snapshot.max_size
    wanted = max(current + target.add, low)
    desired = min(wanted, high)
    code = target.code if current >= low else ReasonCode.SCALE_OUT_MIN
    if desired <= current:
        why = f"{target.reason}; already at max_size {high}"
        return _hold(snapshot, fleet, target, ReasonCode.AT_MAX, why)
    reasons: tuple[str, ...] = (target.reason,)
    codes: tuple[ReasonCode, ...] = (code,)
    if wanted > high:
        reasons += (f"wanted {wanted} instances, capped at max_size {high}",)
        codes += (ReasonCode.AT_MAX,)
    return _decision(
        snapshot,
        fleet,
        target,
        desired=desired,
        terminate=(),
        action="scale_out",
        codes=codes,
        reasons=reasons,
    )


def _plan_scale_in(
    snapshot: FleetSnapshot, fleet: FleetView, target: Target
) -> tuple[int, list[InstanceView]]:
    """Launches not yet started go first (nothing dies), then the longest-idle instances."""
    if fleet.in_group > snapshot.desired:
        return 0, []  # the group is shrinking already: a decrement now lets it pick a victim
    budget = min(target.remove_max, snapshot.desired - target.floor)
    room = None if target.keep_slots is None else _free_slots(fleet) - target.keep_slots
    phantoms = 0
    while phantoms < fleet.phantom and budget > 0 and _fits(room, fleet.slots_per_instance):
        phantoms, budget = phantoms + 1, budget - 1
        room = None if room is None else room - fleet.slots_per_instance
    victims: list[InstanceView] = []
    for candidate in fleet.idle_victims(snapshot.now, target.idle_time_s):
        slots = fleet.slots_of(candidate)
        if budget <= 0:
            break
        if _fits(room, slots):
            victims.append(candidate)
            budget -= 1
            room = None if room is None else room - slots
    return phantoms, victims


def _fits(room: int | None, slots: int) -> bool:
    return room is None or room >= slots


def _wanted_less(snapshot: FleetSnapshot, fleet: FleetView, target: Target) -> bool:
    if snapshot.desired <= target.floor or target.remove_max <= 0:
        return False
    if target.keep_slots is None:
        return True
    return _free_slots(fleet) - target.keep_slots >= fleet.slots_per_instance


def _free_slots(fleet: FleetView) -> int:
    """Capacity that a scale-in may count on: instances without metrics count as full."""
    return fleet.capacity() - fleet.unknown_slots()


def in_cooldown(snapshot: FleetSnapshot, cooldown_s: float) -> bool:
    """Scale-in waits ``cooldown_s`` after the last scale-in and the last scale-out."""
    last = [t for t in (snapshot.last_scale_in_at, snapshot.last_scale_out_at) if t is not None]
    return any(snapshot.now - t < cooldown_s for t in last)


def _hold(
    snapshot: FleetSnapshot, fleet: FleetView, target: Target, code: ReasonCode, reason: str
) -> ScalingDecision:
    return _decision(
        snapshot,
        fleet,
        target,
        desired=snapshot.desired,
        terminate=(),
        action="hold",
        codes=(code,),
        reasons=(reason,),
    )


def _decision(
    snapshot: FleetSnapshot,
    fleet: FleetView,
    target: Target,
    *,
    desired: int,
    terminate: tuple[str, ...],
    action: str,
    codes: tuple[ReasonCode, ...],
    reasons: tuple[str, ...],
) -> ScalingDecision:
    protect, unprotect = _protection(fleet, set(terminate))
    note_reasons, note_codes = target.notes
    return ScalingDecision(
        desired=min(max(desired, snapshot.min_size), snapshot.max_size),
        terminate=terminate,
        protect=protect,
        unprotect=unprotect,
        reasons=reasons + note_reasons,
        action=action,
        codes=codes + note_codes,
        policy=target.policy,
    )


def _protection(fleet: FleetView, leaving: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Busy instances get scale-in protection; idle ones lose it so the group may pick them."""
    busy = fleet.busy()
    busy_ids = {i.instance_id for i in busy}
    protect = tuple(sorted(i.instance_id for i in busy if not i.protected))
    unprotect = tuple(
        sorted(
            i.instance_id
            for i in fleet.fresh
            if i.protected and i.instance_id not in busy_ids and i.instance_id not in leaving
        )
    )
    return protect, unprotect


def _hold_for_refresh(snapshot: FleetSnapshot, policy: BasePolicy) -> ScalingDecision:
    return ScalingDecision(
        desired=min(max(snapshot.desired, snapshot.min_size), snapshot.max_size),
        terminate=(),
        protect=(),
        unprotect=(),
        reasons=("instance refresh or rolling update in progress: not changing the group",),
        action="hold",
        codes=(ReasonCode.HOLD_REFRESH,),
        policy=policy_name(policy),
    )


def _notes(
    snapshot: FleetSnapshot, fleet: FleetView, policy: BasePolicy
) -> list[tuple[ReasonCode, str]]:
    notes: list[tuple[ReasonCode, str]] = []
    if isinstance(policy, QueuePolicy) and snapshot.pending_jobs is None:
        notes.append((ReasonCode.QUEUE_UNKNOWN, "pending jobs unknown: deciding on metrics only"))
    if fleet.warm:
        # warm instances are not capacity: the group moves them in when desired rises
        notes.append((ReasonCode.WARM_POOL, f"{len(fleet.warm)} warm instance(s) ready to start"))
    if fleet.unknown:
        ids = ", ".join(i.instance_id for i in fleet.unknown[:5])
        more = "" if len(fleet.unknown) <= 5 else f" and {len(fleet.unknown) - 5} more"
        text = f"no fresh metrics from {len(fleet.unknown)} instance(s) ({ids}{more}): kept"
        notes.append((ReasonCode.METRICS_MISSING, text))
    return notes
