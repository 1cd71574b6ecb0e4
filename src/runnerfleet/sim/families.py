"""Workload families: named presets of the synthetic generator, each in several variants.

A policy is judged by its worst case over all of them, not by one trace. Each family is one
shape of CI work (docs/simulator.md, "Workload families", gives the calibration of each);
its variants differ in seed and scale (the pipeline rate), so a setting that fits one draw
of one shape by luck does not win. The shared public trace is a family of its own when the
caller has it (``public_workload``); the generator never reads files.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from runnerfleet.errors import SpecError
from runnerfleet.sim.synthetic import SynthParams, generate, scaled
from runnerfleet.sim.trace import Trace

PUBLIC = "public"
_MONDAY_2025_01_06 = float(calendar.timegm((2025, 1, 6, 0, 0, 0)))


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    summary: str
    params: SynthParams
    variants: tuple[tuple[int, float], ...]  # (seed, scale of the pipeline rate)


@dataclass(frozen=True, slots=True)
class Workload:
    """One variant of one family, ready to build: ``trace()`` draws it (deterministic)."""

    family: str
    seed: int
    scale: float
    params: SynthParams | None  # None: the public trace, given as ``public``
    public: Trace | None = None

    @property
    def label(self) -> str:
        if self.params is None:
            return self.family
        return f"{self.family} (seed {self.seed}, x{self.scale:g})"

    def trace(self) -> Trace:
        if self.params is None:
            assert self.public is not None
            return self.public
        return generate(scaled(self.params, scale=self.scale), seed=self.seed)


# fmt: off
_LONG = SynthParams(
    days=28.0, pipelines_per_weekday=4.0, weekend_factor=0.3, diurnal_amplitude=0.5,
    peak_hour_utc=13.0, full_fraction=0.6, full_size=4, small_max=2, fast_offset_s=30.0,
    late_fraction=0.25, late_median_s=9000.0, late_sigma=0.3, quick_fraction=0.0,
    long_median_s=10_800.0, long_sigma=0.4, min_duration_s=5400.0, max_duration_s=21_600.0,
)
_BATCH = SynthParams(
    days=14.0, pipelines_per_weekday=1440.0, weekend_factor=1.0, diurnal_amplitude=0.0,
    full_fraction=1.0, full_size=1, small_max=1, late_fraction=0.0, quick_fraction=1.0,
    quick_median_s=120.0, quick_sigma=0.7, min_duration_s=5.0, max_duration_s=1800.0,
)
_HPC = SynthParams(
    days=28.0, pipelines_per_weekday=60.0, weekend_factor=0.9, diurnal_amplitude=0.15,
    peak_hour_utc=14.0, full_fraction=0.03, full_size=8, small_max=2, fast_offset_s=5.0,
    late_fraction=0.0, quick_fraction=0.2, quick_median_s=120.0, quick_sigma=1.0,
    long_median_s=3600.0, long_sigma=1.3, min_duration_s=30.0, max_duration_s=86_400.0,
)
_YEAR = SynthParams(
    days=364.0, start_ts=_MONDAY_2025_01_06, pipelines_per_weekday=20.0,
    monthly_factors=(0.8, 1.0, 1.3, 1.1, 0.9, 0.7, 0.5, 0.4, 1.2, 1.5, 1.4, 0.7),
    quiet_weeks=(1, 14, 22, 32, 33, 34, 52), quiet_factor=0.1,
)
_WEEKLY = SynthParams(
    days=28.0, pipelines_per_weekday=120.0, weekend_factor=0.05, diurnal_amplitude=0.9,
    peak_hour_utc=13.0, full_fraction=0.3, full_size=8, small_max=4, fast_offset_s=10.0,
    late_fraction=0.3, late_median_s=400.0, late_sigma=0.6, quick_fraction=0.3,
    quick_median_s=60.0, quick_sigma=1.0, long_median_s=480.0, long_sigma=0.7,
    max_duration_s=3600.0,
)
# fmt: on
_VARIANTS = ((1, 0.5), (2, 1.0), (3, 2.0))
_SPARSE = ((1, 0.5), (2, 1.0), (3, 3.0))  # few jobs: a wider range of rates

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("matrix", "bursty matrix pipelines: the public trace's shape (its calibration)",
               SynthParams(days=28.0), _VARIANTS),
        Family("long-pipelines", "a few long pipelines a day, jobs of 1.5-6 h", _LONG, _SPARSE),
        Family("batch", "a steady stream of short batch tasks, around the clock", _BATCH,
               _SPARSE),
        Family("hpc", "HPC-style jobs of widely varying length arriving around the clock", _HPC,
               _VARIANTS),
        Family("year", "a year of matrix pipelines with busy months and quiet weeks", _YEAR,
               ((1, 0.5), (2, 1.0))),
        Family("weekly", "office-hours work: busy weekdays, near-empty nights and weekends",
               _WEEKLY, _VARIANTS),
    )
}  # fmt: skip
FAMILY_NAMES = (PUBLIC, *FAMILIES)


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise SpecError(
            f"unknown workload family {name!r}",
            hint=f"choose from {', '.join(FAMILIES)}"
            + (f" ({PUBLIC} is the shared trace: pass it with --trace)" if name == PUBLIC else ""),
        )
    return FAMILIES[name]


def synth_base(name: str | None, calibrated: SynthParams | None) -> SynthParams:
    """The parameters ``trace synth`` starts from: a family, a calibration, or the default."""
    if name is not None and calibrated is not None:
        raise SpecError(
            "choose either a workload family or a trace to calibrate on",
            hint="drop --family or --calibrate",
        )
    if name is not None:
        return family(name).params
    return calibrated or SynthParams(days=14.0)


def workloads(names: tuple[str, ...] = tuple(FAMILIES)) -> Iterator[Workload]:
    """Every variant of the named synthetic families, in order."""
    for name in names:
        fam = family(name)
        for seed, scale in fam.variants:
            yield Workload(fam.name, seed, scale, fam.params)


def public_workload(trace: Trace, name: str = PUBLIC) -> Workload:
    """A given trace as a workload (the shared public trace, or any file)."""
    return Workload(name, 0, 1.0, None, public=trace)


def chosen(traces: Sequence[tuple[str, Trace]], names: Sequence[str]) -> list[Workload]:
    """The given traces (label, trace), then every variant of the named families."""
    return [public_workload(t, label) for label, t in traces] + list(workloads(tuple(names)))
