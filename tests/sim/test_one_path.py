"""The simulator predicts what the autoscaler Lambda does: one scenario, two paths, same steps.

The same simulated world (arrivals, boots, job ends, drains, scrape failures) is evaluated
once through the simulator's ports and once through the Lambda's own adapters: the
boto3-shaped Auto Scaling and EC2 clients over the same fleet model, every runner's
``/metrics`` and GitLab's pending-jobs API over HTTP on loopback, the real scraper and queue
reader. Every evaluation's decision and the calls it made must be the same, step by step.
Changing how either path observes or applies, alone, makes the runs diverge (the mutation
tests below prove the comparison can fail).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from runnerfleet.aws.autoscaling import AutoScalingAdapter
from runnerfleet.gitlab.pending import PendingQuery
from runnerfleet.gitlab.scrape import ScrapeSettings
from runnerfleet.ops.autoscale import EvaluationConfig, HttpRunners, evaluate
from runnerfleet.sandbox.fleetport import FleetModelAutoScaling, FleetModelEc2
from runnerfleet.scaling.evaluation import Cycle, RunnerObservation, RunnerObserver
from runnerfleet.scaling.observe import GroupState, RunnerReading
from runnerfleet.sim.autoscaler import SimGroup
from runnerfleet.sim.catalog import SimPolicy, build_policy
from runnerfleet.sim.engine import Simulation
from runnerfleet.sim.model import BootProfile, DecisionRecord, SimConfig
from runnerfleet.sim.trace import Trace, make_trace
from tests.autoscaler.runner_server import (
    Endpoint,
    RunnerMetricsServer,
    render_metrics,
    runner_server,
)

SLOTS = 2
PROJECT = 7
Faults = Callable[[float, str], bool]

pytestmark = pytest.mark.contract  # drives the adapters over HTTP


def scrape_fails(now: float, instance_id: str) -> bool:
    """A deterministic scrape-failure schedule: some runners, some minutes."""
    return (int(now // 60) + int(instance_id[-3:], 16)) % 5 == 0


def no_faults(now: float, instance_id: str) -> bool:
    return False


class FaultyRunners:
    """The simulator's runner port with the scenario's scrape failures."""

    def __init__(self, inner: RunnerObserver, faults: Faults, clock: Callable[[], float]) -> None:
        self._inner, self._faults, self._clock = inner, faults, clock

    def observe(self, group: GroupState) -> RunnerObservation:
        seen = self._inner.observe(group)
        now = self._clock()
        readings = {
            iid: RunnerReading(None) if self._faults(now, iid) else reading
            for iid, reading in seen.readings.items()
        }
        return RunnerObservation(readings, seen.pending_jobs)


class LambdaPath:
    """The Lambda's evaluation (``ops.autoscale.evaluate``) against the simulator's world."""

    def __init__(self, sim: Simulation, server: RunnerMetricsServer, faults: Faults) -> None:
        self.sim, self.server, self.faults = sim, server, faults
        self.asg = FleetModelAutoScaling(sim.fleet, sim.group.name, lambda: sim.now)
        ec2 = FleetModelEc2(sim.fleet, self.asg.lock)
        self.adapter = AutoScalingAdapter(self.asg, ec2, self.address_of)
        self.runners: dict[str, Endpoint] = {}
        self.hosts: dict[str, str] = {}
        self.queue = Endpoint(body="[]")
        base = f"http://{server.add('127.0.0.1', 0, self.queue)}"
        policy = sim.policy.policy
        assert policy is not None
        self.config = EvaluationConfig(
            group_name=sim.group.name,
            stack_name="one-path",
            policy=policy,
            scrape=ScrapeSettings(timeout_s=2.0, deadline_s=5.0),
            pending=PendingQuery(
                base_url=base, project_ids=(PROJECT,), tags=frozenset(), run_untagged=True
            ),
        )

    def address_of(self, instance_id: str, _private_ip: str | None) -> str:
        if instance_id not in self.hosts:
            self.runners[instance_id] = Endpoint()
            self.hosts[instance_id] = self.server.add("127.0.0.1", 0, self.runners[instance_id])
        return self.hosts[instance_id]

    def __call__(self, now: float) -> Cycle:
        for iid, node in self.sim.nodes.items():
            endpoint = self.runners.get(iid) or self._endpoint(iid)
            endpoint.body = render_metrics(node.running, concurrent=SLOTS)
            endpoint.mode = "error" if self.faults(now, iid) else "ok"
        self.queue.body = json.dumps([{"status": "pending", "tag_list": []}] * len(self.sim.queue))
        runners = HttpRunners(self.config.scrape, self.config.pending, "glpat-one-path-test")
        result = evaluate(self.config, self.adapter, runners, clock=lambda: now)
        assert self.asg.held_events() == 0  # the engine has already seen every fleet event
        return result.cycle

    def _endpoint(self, instance_id: str) -> Endpoint:
        self.address_of(instance_id, None)
        return self.runners[instance_id]


def scenario() -> Trace:
    """Bursts, long and short jobs, a quiet gap long enough to scale in, a second burst."""
    arrivals = [0, 0, 5, 30, 30, 30, 200, 260, 900, 905, 2400, 2400, 2410, 2415, 2500]
    durations = [400, 90, 600, 50, 1200, 300, 100, 700, 60, 1500, 200, 200, 900, 30, 400]
    return make_trace(arrivals, durations)


def run_path(policy: SimPolicy, faults: Faults, lambda_path: bool) -> list[DecisionRecord]:
    config = SimConfig(
        slots=SLOTS,
        boot=BootProfile(cold_s=120, jitter=0),
        check_interval_s=0.0,
        max_size=6,
        record_decisions=True,
    )
    sim = Simulation(scenario(), policy, config)
    if lambda_path:
        with runner_server() as server:
            sim.evaluator = LambdaPath(sim, server, faults)
            run = sim.run()
    else:
        sim.runners = FaultyRunners(sim.runners, faults, lambda: sim.now)  # type: ignore[assignment]
        run = sim.run()
    assert run.decisions is not None and run.unserved == 0
    return run.decisions


POLICIES = {
    "queue": build_policy("queue", SLOTS, {"idle_count": 1, "idle_time_s": 120, "cooldown_s": 300}),
    "idle": build_policy("idle", SLOTS, {"idle_count": 2, "idle_time_s": 60, "cooldown_s": 120}),
    "seed": build_policy("seed", SLOTS, {"headroom_jobs": 1, "cooldown_s": 300}),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_simulator_and_lambda_take_the_same_steps(name: str) -> None:
    sim_steps = run_path(POLICIES[name], scrape_fails, lambda_path=False)
    lambda_steps = run_path(POLICIES[name], scrape_fails, lambda_path=True)
    assert [s[1] for s in sim_steps].count("scale_in") >= 1  # the scenario exercises both ways
    assert [s[1] for s in sim_steps].count("scale_out") >= 2
    assert lambda_steps == sim_steps


def test_a_simulator_that_forgets_idle_clocks_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = run_path(POLICIES["queue"], no_faults, lambda_path=True)
    original = SimGroup.observe

    def exact_job_end(self: SimGroup, name: str) -> GroupState:
        group = original(self, name)  # an idle clock that never starts: idle since launch
        members = tuple(m.__class__(**{**_fields(m), "idle_since": None}) for m in group.members)
        return group.__class__(**{**_fields(group), "members": members})

    monkeypatch.setattr(SimGroup, "observe", exact_job_end)
    assert run_path(POLICIES["queue"], no_faults, lambda_path=False) != expected


def test_a_lambda_that_ignores_its_cooldown_stamp_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = run_path(POLICIES["seed"], no_faults, lambda_path=False)
    original = AutoScalingAdapter.observe

    def no_stamps(self: AutoScalingAdapter, name: str) -> GroupState:
        group = original(self, name)
        return group.__class__(
            **{**_fields(group), "last_scale_in_at": None, "last_scale_out_at": None}
        )

    monkeypatch.setattr(AutoScalingAdapter, "observe", no_stamps)
    assert run_path(POLICIES["seed"], no_faults, lambda_path=True) != expected


def _fields(value: object) -> dict[str, object]:
    return {name: getattr(value, name) for name in value.__slots__}  # type: ignore[attr-defined]
