"""``simulate --env``: an environment file's fleet as the simulator runs it, and its results.

From the file: slots per instance (``runner.concurrent``), the warm group's maximum
(``capacity.max``) and pool (``capacity.warm_pool.min_size``), the spot group behind it
(``capacity.overflow.max``), whether lost jobs are retried (``drain.retry_lost_jobs``), the
policy (``scaling``, mapped by the Lambda's own ``policy_from_scaling``) and the boot preset:
``baked`` when the file has an ``image:`` section, else ``cold``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from runnerfleet.errors import SpecError
from runnerfleet.scaling.settings import policy_from_scaling
from runnerfleet.sim.catalog import SimPolicy
from runnerfleet.sim.report import Bounds, PolicyResult, summarize

if TYPE_CHECKING:  # `simulate --help` imports no environment-file model
    from runnerfleet.envfile.models import FleetSpec
from runnerfleet.sim.twogroups import TwoGroupRun


@dataclass(frozen=True, slots=True)
class EnvFleet:
    """What ``simulate`` takes from an environment file."""

    name: str
    slots: int
    max_size: int  # the (warm) group's maximum
    warm_pool: int
    overflow_max: int | None  # None: one group
    retry_lost_jobs: bool
    boot: str  # the boot preset of a fresh instance: baked or cold
    policy: SimPolicy


def env_fleet(spec: FleetSpec, settings: Mapping[str, Any]) -> EnvFleet:
    """``settings``: the autoscaler's ``RUNNERFLEET_SCALING`` mapping for ``spec``."""
    cap = spec.capacity
    try:
        policy = policy_from_scaling(settings)
    except ValueError as exc:
        raise SpecError(f"{spec.name}: scaling: {exc}", hint="see docs/scaling.md") from exc
    scaling = dict(settings.get("scaling") or {})
    name = str(scaling.get("policy", "queue"))
    label = f"{spec.name} ({name})"
    return EnvFleet(
        name=spec.name,
        slots=spec.runner.concurrent,
        max_size=cap.max,
        warm_pool=cap.warm_pool.min_size if cap.warm_pool else 0,
        overflow_max=cap.overflow.max if cap.overflow else None,
        retry_lost_jobs=spec.drain.retry_lost_jobs,
        boot="baked" if spec.image is not None else "cold",
        policy=SimPolicy(label, name, policy, scaling, cap.min),
    )


@dataclass(frozen=True, slots=True)
class TwoGroupResult:
    """``PolicyResult`` of both groups (the cost priced per group) and the split."""

    result: PolicyResult
    warm_instance_hours: float
    spot_instance_hours: float
    stopped_instance_hours: float
    spot_launches: int
    spot_interruptions: int
    jobs_retried: int
    jobs_lost: int

    def as_dict(self) -> dict[str, object]:
        extra = asdict(self)
        extra.pop("result")
        return {**self.result.as_dict(), **extra}


def summarize_two(two: TwoGroupRun, limits: Bounds) -> TwoGroupResult:
    t = two.tally
    result = replace(summarize(two.run, limits), cost=round(two.cost, 2))
    return TwoGroupResult(
        result=result,
        warm_instance_hours=round(t.warm_billed_s / 3600, 1),
        spot_instance_hours=round(t.spot_billed_s / 3600, 1),
        stopped_instance_hours=round(t.stopped_s / 3600, 1),
        spot_launches=t.spot_launches,
        spot_interruptions=t.interruptions,
        jobs_retried=t.jobs_retried,
        jobs_lost=t.jobs_lost,
    )
