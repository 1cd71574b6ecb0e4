"""The drain scenario table: what happens on the instance, and the steps the drain must take.

Each scenario drives both the pure step function (``play``, below) and the drain script under
bash with stub commands on a virtual clock (``tests.drain.shell``); both must produce exactly
``steps``. A step is ``"<seconds since the drain began> <action>"``, with ``!`` when the call
failed. Times are whole seconds, the poll is 5 s, the heartbeat every timeout / 3.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from runnerfleet.drain import (
    DrainAction,
    DrainDecision,
    DrainLimits,
    DrainState,
    Observation,
    drain_step,
    record,
)
from runnerfleet.scaling.lifecycle import CONTINUE

HORIZON_S = 4 * 3600
Step = Callable[[DrainState, Observation, DrainLimits], DrainDecision]


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[str, ...]
    jobs_end: tuple[int, ...] = ()  # when each running job ends
    heartbeat_timeout: int = 60
    max_drain: int = 3600
    heartbeats: tuple[bool, ...] = ()  # results of the heartbeat calls in order (then: ok)
    unregisters: tuple[bool, ...] = ()
    completes: tuple[bool, ...] = ()
    spot_notice_at: int | None = None  # the interruption notice shows in IMDS from then on
    spot_kill_at: int | None = None  # ... and names this reclaim time
    term_exit_s: int | None = 0  # after SIGTERM the runner exits this much later; None: never
    completed: bool = True  # the action ends completed with CONTINUE (the script exits 0)

    @property
    def limits(self) -> DrainLimits:
        return DrainLimits(heartbeat_timeout_s=self.heartbeat_timeout, max_drain_s=self.max_drain)

    def kill_at(self, t: float) -> float | None:
        notice = self.spot_notice_at
        return self.spot_kill_at if notice is not None and t >= notice else None


SCENARIOS = (
    Scenario("idle instance", ("0 stop", "0 unregister", "0 continue")),
    Scenario(
        "jobs end before the first heartbeat",
        ("0 stop", "15 unregister", "15 continue"),
        jobs_end=(12, 3),
    ),
    Scenario(
        "jobs longer than the heartbeat cadence",
        ("0 stop", "20 heartbeat", "40 heartbeat", "50 unregister", "50 continue"),
        jobs_end=(30, 47),
    ),
    Scenario(
        "jobs longer than the hook timeout are protected by heartbeats",
        (
            "0 stop",
            *(f"{t} heartbeat" for t in range(30, 200, 30)),
            "200 unregister",
            "200 continue",
        ),
        heartbeat_timeout=90,
        jobs_end=(197,),
    ),
    Scenario(
        "a failed heartbeat is retried at the next look",
        ("0 stop", "20 heartbeat!", "25 heartbeat", "45 heartbeat", "50 unregister", "50 continue"),
        jobs_end=(50,),
        heartbeats=(False, True),
    ),
    Scenario(
        "heartbeats keep failing: unregister when the action times out",
        (
            "0 stop",
            *(f"{t} heartbeat!" for t in range(20, 60, 5)),
            "60 unregister",
            "60 continue!",
            "62 continue!",
            "64 continue!",
        ),
        jobs_end=(500,),
        heartbeats=(False,) * 20,
        completes=(False,) * 3,
        completed=False,
    ),
    Scenario(
        "the drain budget is spent: abort the jobs, then finish",
        ("0 stop", "20 heartbeat", "40 heartbeat", "45 abort", "50 unregister", "50 continue"),
        jobs_end=(1000,),
        max_drain=45,
        term_exit_s=3,
    ),
    Scenario(
        "aborted jobs outlive the kill grace",
        (
            "0 stop",
            "20 heartbeat",
            "40 heartbeat",
            "45 abort",
            "60 heartbeat",
            "80 heartbeat",
            "100 heartbeat",
            "105 unregister",
            "105 continue",
        ),
        jobs_end=(1000,),
        max_drain=45,
        term_exit_s=None,
    ),
    Scenario(
        "spot notice: unregister before the reclaim",
        (
            "0 stop",
            "20 heartbeat",
            "40 heartbeat",
            "60 heartbeat",
            "80 heartbeat",
            "90 unregister",
            "90 continue",
        ),
        jobs_end=(1000,),
        spot_notice_at=0,
        spot_kill_at=120,
    ),
    Scenario(
        "spot notice during a drain",
        (
            "0 stop",
            *(f"{t} heartbeat" for t in range(20, 120, 20)),
            "120 unregister",
            "120 continue",
        ),
        jobs_end=(1000,),
        spot_notice_at=32,
        spot_kill_at=150,
    ),
    Scenario(
        "spot notice, jobs finish before the reclaim",
        ("0 stop", "20 heartbeat", "35 unregister", "35 continue"),
        jobs_end=(33,),
        spot_notice_at=0,
        spot_kill_at=120,
    ),
    Scenario(
        "a failed unregister is retried",
        ("0 stop", "0 unregister!", "2 unregister", "2 continue"),
        unregisters=(False, True),
    ),
    Scenario(
        "unregister keeps failing: complete anyway",
        ("0 stop", "0 unregister!", "2 unregister!", "4 unregister!", "4 continue"),
        unregisters=(False,) * 3,
    ),
    Scenario(
        "a failed completion is retried",
        ("0 stop", "0 unregister", "0 continue!", "2 continue"),
        completes=(False, True),
    ),
    Scenario(
        "completion keeps failing: the drain fails loudly",
        ("0 stop", "0 unregister", "0 continue!", "2 continue!", "4 continue!"),
        completes=(False,) * 3,
        completed=False,
    ),
)


def pause(decision: DrainDecision, now: float, poll_s: float) -> float:
    """How long the drain sleeps on WAIT: until the next look, at most one poll, at least 1 s."""
    if decision.next_check_at is None:
        return poll_s
    return max(1.0, min(poll_s, math.ceil(decision.next_check_at - now)))


class Instance:
    """The scenario's instance as the step function sees it: jobs, a runner, scripted results."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.ends = list(scenario.jobs_end)
        self.results: dict[DrainAction, Iterator[bool]] = {
            DrainAction.HEARTBEAT: iter(scenario.heartbeats),
            DrainAction.UNREGISTER: iter(scenario.unregisters),
            DrainAction.CONTINUE: iter(scenario.completes),
        }

    def observe(self, t: float) -> Observation:
        running = sum(1 for end in self.ends if end > t)
        return Observation(now=t, running_jobs=running, kill_at=self.scenario.kill_at(t))

    def act(self, action: DrainAction, t: float) -> bool:
        term = self.scenario.term_exit_s
        if action is DrainAction.ABORT_JOBS and term is not None:
            self.ends = [min(end, t + term) for end in self.ends]
        return next(self.results.get(action, iter(())), True)


def play(scenario: Scenario, step: Step = drain_step) -> tuple[list[str], DrainState]:
    """The steps the step function takes in ``scenario``, polled as the drain script polls."""
    limits, instance = scenario.limits, Instance(scenario)
    state, steps, t = DrainState(started_at=0.0), [], 0.0
    while t <= HORIZON_S:
        decision = step(state, instance.observe(t), limits)
        if decision.action is DrainAction.DONE:
            break
        if decision.action is DrainAction.WAIT:
            t += pause(decision, t, limits.poll_s)
            continue
        ok = instance.act(decision.action, t)
        steps.append(f"{t:.0f} {decision.action}" + ("" if ok else "!"))
        state = record(state, decision.action, t, ok)
    return steps, state


def completed(state: DrainState) -> bool:
    return state.result == CONTINUE
