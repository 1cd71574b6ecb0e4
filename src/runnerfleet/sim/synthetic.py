"""A synthetic CI workload for demos and tests: diurnal, bursty, heavy-tailed.

Model (every number is a field of ``SynthParams``):
- pipelines arrive as a non-homogeneous Poisson process: ``pipelines_per_weekday`` on average
  per weekday, shaped over the day by ``1 + diurnal_amplitude * cos(2 pi (h - peak_hour) / 24)``
  and scaled by ``weekend_factor`` on Saturdays and Sundays;
- a pipeline is a burst of jobs: with probability ``full_fraction`` it is the full CI matrix of
  ``full_size`` jobs, otherwise a small one of 1..``small_max`` jobs; most jobs become ready
  within seconds (exponential offset, mean ``fast_offset_s``), a ``late_fraction`` later
  (lognormal around ``late_median_s``: jobs that wait for an earlier stage);
- durations are a two-part lognormal mixture (quick jobs, real builds), clipped to
  [``min_duration_s``, ``max_duration_s``]: a heavy right tail;
- seasons: ``monthly_factors`` (12 multipliers, January first) and ``quiet_weeks`` (ISO week
  numbers whose rate is multiplied by ``quiet_factor``), for a year of busy months and holidays.

``calibrate(trace)`` measures all of these on a real trace; the defaults below are
``calibrate`` of the shared bitcoin-core trace (17,002 GitHub Actions jobs, 42 days), rounded.
"""

from __future__ import annotations

import calendar
import dataclasses
import math
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from runnerfleet.errors import SpecError
from runnerfleet.sim.limits import MAX_DURATION_S, MAX_JOBS, MAX_SPAN_S
from runnerfleet.sim.trace import Trace, make_trace

Z90 = 1.2815515655446004  # the 90th percentile of the standard normal
QUICK_S = 300.0  # jobs shorter than this belong to the quick component
LATE_S = 120.0  # jobs ready later than this after their pipeline's first are "late"


@dataclass(frozen=True, slots=True)
class SynthParams:
    days: float = 14.0
    start_ts: float = float(calendar.timegm((2025, 9, 8, 0, 0, 0)))  # a Monday, 00:00 UTC
    pipelines_per_weekday: float = 27.8
    weekend_factor: float = 0.25
    diurnal_amplitude: float = 0.67
    peak_hour_utc: float = 15.7
    full_fraction: float = 0.95
    full_size: int = 19
    small_max: int = 10
    fast_offset_s: float = 16.4
    late_fraction: float = 0.22
    late_median_s: float = 585.0
    late_sigma: float = 0.68
    quick_fraction: float = 0.12
    quick_median_s: float = 41.0
    quick_sigma: float = 1.99
    long_median_s: float = 1028.0
    long_sigma: float = 0.63
    max_duration_s: float = 8599.0
    min_duration_s: float = 0.0
    monthly_factors: tuple[float, ...] = ()
    quiet_weeks: tuple[int, ...] = ()
    quiet_factor: float = 0.1

    def __post_init__(self) -> None:
        if self.days <= 0 or self.pipelines_per_weekday <= 0:
            raise ValueError("days and pipelines_per_weekday must be more than 0")
        if not 0 <= self.diurnal_amplitude < 1:
            raise ValueError("diurnal_amplitude must be within [0, 1)")
        for name in ("weekend_factor", "full_fraction", "late_fraction", "quick_fraction",
                     "quiet_factor"):  # fmt: skip
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.monthly_factors and (
            len(self.monthly_factors) != 12 or min(self.monthly_factors) < 0
        ):
            raise ValueError("monthly_factors must be 12 multipliers of 0 or more")
        if not 0 <= self.min_duration_s <= self.max_duration_s <= MAX_DURATION_S:
            raise ValueError(
                f"durations must satisfy 0 <= min <= max <= {MAX_DURATION_S:g} s (7 days)"
            )
        _check_size(self)


def _check_size(p: SynthParams) -> None:
    """Refuse parameters that would exceed the trace limits before drawing a single job."""
    if p.days * 86_400 > MAX_SPAN_S:
        raise ValueError(f"days must be at most {MAX_SPAN_S / 86_400:g}")
    size = p.full_fraction * p.full_size + (1 - p.full_fraction) * (1 + p.small_max) / 2
    season = max(p.monthly_factors, default=1.0)
    expected = p.pipelines_per_weekday * p.days * size * season
    if expected > MAX_JOBS:
        raise ValueError(
            f"about {expected:,.0f} jobs expected, more than the limit of {MAX_JOBS:,}; "
            "lower the days or the scale"
        )


def scaled(params: SynthParams, *, days: float | None = None, scale: float = 1.0) -> SynthParams:
    """``params`` over ``days`` (None: its own) with the pipeline rate times ``scale``."""
    try:
        return dataclasses.replace(
            params,
            days=params.days if days is None else days,
            pipelines_per_weekday=params.pipelines_per_weekday * scale,
        )
    except ValueError as exc:
        raise SpecError(
            f"synthetic workload: {exc}",
            hint="days and scale must be more than 0, within the limits in docs/simulator.md",
        ) from exc


def rate_per_s(params: SynthParams, t: float) -> float:
    """Pipeline arrival rate at epoch second ``t``."""
    day = datetime.fromtimestamp(t, UTC)
    hour = day.hour + day.minute / 60
    shape = 1 + params.diurnal_amplitude * math.cos(
        2 * math.pi * (hour - params.peak_hour_utc) / 24
    )
    weekend = params.weekend_factor if day.weekday() >= 5 else 1.0
    season = params.monthly_factors[day.month - 1] if params.monthly_factors else 1.0
    if params.quiet_weeks and day.isocalendar().week in params.quiet_weeks:
        season *= params.quiet_factor
    return params.pipelines_per_weekday / 86_400 * shape * weekend * season


def peak_rate_per_s(params: SynthParams) -> float:
    """An upper bound of ``rate_per_s`` over time, for thinning."""
    season = max(params.monthly_factors, default=1.0)
    return params.pipelines_per_weekday / 86_400 * (1 + params.diurnal_amplitude) * season


def generate(params: SynthParams | None = None, *, seed: int = 0) -> Trace:
    """A trace drawn from ``params``; the same seed always gives the same trace."""
    p = params or SynthParams()
    rng = random.Random(seed)  # noqa: S311  (a workload model, not crypto)
    peak = peak_rate_per_s(p)
    end = p.start_ts + p.days * 86_400
    t = p.start_ts
    jobs: list[tuple[float, float, str, str]] = []
    pipeline = 0
    while True:
        t += rng.expovariate(peak)  # thinning: propose at the peak rate, keep by the true one
        if t >= end:
            break
        if rng.random() * peak > rate_per_s(p, t):
            continue
        pipeline += 1
        jobs.extend(_pipeline(p, rng, t, f"p{pipeline}"))
    jobs.sort(key=lambda j: j[0])
    return make_trace(
        (j[0] for j in jobs),
        (j[1] for j in jobs),
        pipeline_ids=[j[2] for j in jobs],
        job_names=[j[3] for j in jobs],
        statuses=["COMPLETED"] * len(jobs),
        source=f"synthetic(seed={seed})",
    )


def _pipeline(
    p: SynthParams, rng: random.Random, start: float, pid: str
) -> list[tuple[float, float, str, str]]:
    size = p.full_size if rng.random() < p.full_fraction else rng.randint(1, p.small_max)
    out: list[tuple[float, float, str, str]] = []
    for k in range(size):
        if k == 0:
            offset = 0.0
        elif rng.random() < p.late_fraction:
            offset = rng.lognormvariate(math.log(p.late_median_s), p.late_sigma)
        else:
            offset = rng.expovariate(1 / p.fast_offset_s)
        if rng.random() < p.quick_fraction:
            duration = rng.lognormvariate(math.log(p.quick_median_s), p.quick_sigma)
        else:
            duration = rng.lognormvariate(math.log(p.long_median_s), p.long_sigma)
        duration = min(max(duration, p.min_duration_s), p.max_duration_s)
        out.append((round(start + offset, 3), round(duration), pid, f"job-{k}"))
    return out


def calibrate(trace: Trace) -> SynthParams:
    """Measure a real trace: the parameters under which ``generate`` resembles it."""
    pipelines: dict[str, list[float]] = defaultdict(list)
    for i, a in enumerate(trace.arrivals):
        pipelines[trace.pipeline_ids[i] or f"job{i}"].append(a)
    starts = [min(v) for v in pipelines.values()]
    days = (trace.arrivals[-1] - trace.arrivals[0]) / 86_400 or 1.0
    weekday = [s for s in starts if datetime.fromtimestamp(s, UTC).weekday() < 5]
    n_weekdays = max(1.0, days * 5 / 7)
    per_weekday = len(weekday) / n_weekdays
    per_weekend_day = (len(starts) - len(weekday)) / max(1.0, days * 2 / 7)
    amplitude, peak_hour = _diurnal(starts)
    sizes = [len(v) for v in pipelines.values()]
    full = statistics.median_high(sizes)
    big = [s for s in sizes if s >= 0.75 * full]
    offsets = [a - min(v) for v in pipelines.values() for a in sorted(v)[1:]]
    late = [o for o in offsets if o > LATE_S]
    fast = [o for o in offsets if o <= LATE_S]
    quick = [d for d in trace.durations if 0 < d < QUICK_S]
    long = [d for d in trace.durations if d >= QUICK_S]
    return SynthParams(
        days=round(days, 1),
        start_ts=trace.arrivals[0],
        pipelines_per_weekday=round(per_weekday, 1),
        weekend_factor=round(per_weekend_day / per_weekday, 2) if per_weekday else 1.0,
        diurnal_amplitude=round(amplitude, 2),
        peak_hour_utc=round(peak_hour, 1),
        full_fraction=round(len(big) / len(sizes), 2),
        full_size=int(full),
        small_max=max([s for s in sizes if s < 0.75 * full], default=1),
        fast_offset_s=round(statistics.fmean(fast), 1) if fast else 1.0,
        late_fraction=round(len(late) / len(offsets), 2) if offsets else 0.0,
        late_median_s=round(statistics.median(late)) if late else 600.0,
        late_sigma=round(_sigma90(late), 2) if late else 0.5,
        quick_fraction=round(len(quick) / len(trace.durations), 2),
        quick_median_s=round(statistics.median(quick)) if quick else 60.0,
        quick_sigma=round(_log_sd(quick), 2) if quick else 1.0,
        long_median_s=round(statistics.median(long)) if long else 900.0,
        long_sigma=round(_sigma90(long), 2) if long else 0.5,
        max_duration_s=max(trace.durations),
    )


def _diurnal(starts: list[float]) -> tuple[float, float]:
    """First harmonic of the hour-of-day histogram: amplitude and peak hour."""
    c = s = 0.0
    for t in starts:
        day = datetime.fromtimestamp(t, UTC)
        angle = 2 * math.pi * (day.hour + day.minute / 60) / 24
        c, s = c + math.cos(angle), s + math.sin(angle)
    n = len(starts) or 1
    amplitude = min(0.95, 2 * math.hypot(c, s) / n)
    peak = (math.degrees(math.atan2(s, c)) / 15) % 24
    return amplitude, peak


def _sigma90(values: list[float]) -> float:
    """Lognormal sigma from the median and the 90th percentile (robust to the far tail)."""
    ordered = sorted(values)
    median = statistics.median(ordered)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return max(0.05, math.log(p90 / median) / Z90) if median > 0 else 0.5


def _log_sd(values: list[float]) -> float:
    logs = [math.log(v) for v in values if v > 0]
    return statistics.stdev(logs) if len(logs) > 1 else 0.5
