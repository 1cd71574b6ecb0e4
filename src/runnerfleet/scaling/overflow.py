"""Two groups, one fleet: a warm on-demand group filled first, a spot overflow group for the rest.

AWS refuses a warm pool on a spot (mixed instances) group, so an environment with warm
capacity and spot capacity has two groups (``capacity.overflow``). ``WarmFirst`` shows the
evaluation both as one group: one snapshot, one decision, one set of cooldown tags (on the
warm group). Only a resize is split: a scale-out goes to the warm group up to its maximum
(its launches come from the stopped pool) and the rest to the spot group; a scale-in lowers
the spot group first. Named terminations and protection go to the group that holds the
instance. Pure: every call goes through the wrapped port.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runnerfleet.scaling.apply import CallFailed
from runnerfleet.scaling.evaluation import GroupObserver
from runnerfleet.scaling.observe import GroupPart, GroupState


@dataclass(frozen=True, slots=True)
class Sizes:
    desired: int
    min_size: int
    max_size: int


def split_desired(total: int, warm: Sizes, overflow: Sizes) -> tuple[int, int]:
    """The (warm, overflow) desired capacities for ``total``: out warm first, in spot first."""
    current = warm.desired + overflow.desired
    if total >= current:
        to_warm = min(total - current, max(warm.max_size - warm.desired, 0))
        spot = min(overflow.desired + total - current - to_warm, overflow.max_size)
        return warm.desired + to_warm, spot
    removed = current - total
    from_spot = min(removed, max(overflow.desired - overflow.min_size, 0))
    warm_left = max(warm.desired - (removed - from_spot), warm.min_size)
    return warm_left, overflow.desired - from_spot


class WarmFirst:
    """``GroupObserver`` over two groups through one port, seen as the warm group."""

    def __init__(self, port: GroupObserver, warm: str, overflow: str) -> None:
        self._port, self.warm, self.overflow = port, warm, overflow
        self._owner: dict[str, str] = {}  # instance id -> its group
        self._sizes: dict[str, Sizes] = {}

    def observe(self, group_name: str) -> GroupState:
        warm, spot = self._port.observe(self.warm), self._port.observe(self.overflow)
        for group in (warm, spot):
            self._sizes[group.name] = Sizes(group.desired, group.min_size, group.max_size)
            self._owner.update((m.instance_id, group.name) for m in group.members)
        return GroupState(
            name=warm.name,
            desired=warm.desired + spot.desired,
            min_size=warm.min_size + spot.min_size,
            max_size=warm.max_size + spot.max_size,
            members=warm.members + spot.members,
            refresh_in_progress=warm.refresh_in_progress or spot.refresh_in_progress,
            last_scale_in_at=warm.last_scale_in_at,
            last_scale_out_at=warm.last_scale_out_at,
            notes=warm.notes + tuple(f"{spot.name}: {note}" for note in spot.notes),
            parts=(_part(warm), _part(spot)),
        )

    def set_protection(self, group: str, instance_ids: Sequence[str], protected: bool) -> None:
        for name in (self.warm, self.overflow):
            mine = [iid for iid in instance_ids if self._group_of(iid) == name]
            if mine:
                self._port.set_protection(name, mine, protected)

    def terminate(self, instance_id: str) -> None:
        self._port.terminate(instance_id)
        name = self._group_of(instance_id)
        before = self._sizes[name]
        self._sizes[name] = Sizes(before.desired - 1, before.min_size, before.max_size)

    def set_desired(self, group: str, desired: int) -> None:
        warm, spot = self._sizes[self.warm], self._sizes[self.overflow]
        targets = split_desired(desired, warm, spot)
        errors = [
            error
            for name, target in ((self.warm, targets[0]), (self.overflow, targets[1]))
            if (error := self._resize(name, target))
        ]
        if errors:
            raise CallFailed("; ".join(errors))

    def _resize(self, name: str, target: int) -> str | None:
        """Resize one group if it changes; the failure's text, or None."""
        before = self._sizes[name]
        if target == before.desired:
            return None
        try:
            self._port.set_desired(name, target)
        except CallFailed as exc:
            return f"{name}: {exc}"
        self._sizes[name] = Sizes(target, before.min_size, before.max_size)
        return None

    def tag_group(self, group: str, key: str, value: str) -> None:
        self._port.tag_group(self.warm, key, value)  # one cooldown for the fleet

    def tag_instances(self, instance_ids: Sequence[str], key: str, value: str | None) -> None:
        self._port.tag_instances(instance_ids, key, value)

    def _group_of(self, instance_id: str) -> str:
        return self._owner.get(instance_id, self.warm)


def _part(group: GroupState) -> GroupPart:
    ids = frozenset(m.instance_id for m in group.members)
    return GroupPart(group.name, group.desired, group.min_size, group.max_size, ids)
