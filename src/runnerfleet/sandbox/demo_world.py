"""The demo's moving parts, wired the way production wires them, on 127.0.0.0/8.

Production adapters run unchanged here: the autoscaler's ``evaluate`` with its Auto Scaling
adapter, the GitLab registration code, the lifecycle use case ``handle_terminate`` with its
SSM dedupe records (in the emulator). What the emulator cannot do is played by the fleet
model (group lifecycle) and the instance host (what the bootstrap and the drain document do
on an instance).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from runnerfleet.asgmodel.group import Fleet
from runnerfleet.asgmodel.types import ABANDON, CONTINUE, EventKind, FleetConfig, HookConfig
from runnerfleet.aws.autoscaling import AutoScalingAdapter
from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.aws.fleet_drain import start_scale_to_zero
from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.aws.lifecycle_ssm import ActionRecords
from runnerfleet.drain import DrainLimits
from runnerfleet.envfile import FleetSpec, load_environment
from runnerfleet.errors import SandboxError
from runnerfleet.gitlab.apply import Registrar, apply_registration_plan, gather_existing
from runnerfleet.gitlab.registry import desired_from_spec, plan_registrations
from runnerfleet.gitlab.scrape import ScrapeSettings
from runnerfleet.ops.autoscale import EvaluationConfig, HttpRunners, evaluate
from runnerfleet.ops.autoscale_env import pending_from_scaling
from runnerfleet.ops.drain import Clock, DrainConfig, DrainDeps, handle_terminate
from runnerfleet.ops.registrations import registrar_for
from runnerfleet.ops.target import GitLabAccess, Target
from runnerfleet.sandbox import emulator
from runnerfleet.sandbox import state as sandbox_state
from runnerfleet.sandbox.clock import SimClock
from runnerfleet.sandbox.fleetport import FleetModelAutoScaling, FleetModelEc2
from runnerfleet.sandbox.instances import TERMINATE_HOOK, HostSettings, InstanceHost
from runnerfleet.sandbox.standin import GitLabStandIn, StandInState
from runnerfleet.sandbox.standin.seed import SANDBOX_ACCESS_TOKEN, seed_for_spec
from runnerfleet.scaling.settings import policy_from_scaling
from runnerfleet.stack.wiring import scaling_settings

if TYPE_CHECKING:
    from runnerfleet.sandbox.demo import DemoOptions
    from runnerfleet.sandbox.demo_report import DemoStats


class _Counter:
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def count(self, name: str, value: float = 1.0) -> None:
        self.counts[name] = self.counts.get(name, 0.0) + value


@dataclass
class World:
    spec: FleetSpec
    clock: SimClock
    factory: ClientFactory
    standin: GitLabStandIn
    fleet: Fleet
    asg: FleetModelAutoScaling
    host: InstanceHost
    autoscaler: EvaluationConfig
    adapter: AutoScalingAdapter
    drain: DrainConfig
    drain_deps: DrainDeps
    project_id: int
    job_tags: tuple[str, ...]
    tick_s: float
    t0: float
    next_tick: float = 0.0
    hook_timeouts: int = 0
    threads: list[threading.Thread] = field(default_factory=list)

    def step(self, stats: DemoStats) -> None:
        now = self.clock.now()
        for event in self.asg.take_events():
            self._dispatch(event.kind, event.instance_id)
        if now >= self.next_tick:
            self.next_tick = now + self.tick_s
            config = self.autoscaler
            runners = HttpRunners(config.scrape, config.pending, SANDBOX_ACCESS_TOKEN)
            result = evaluate(config, self.adapter, runners, clock=self.clock.now)
            stats.evaluations += 1
            if result.decision.action != "hold":
                minute = (now - self.t0) / 60
                stats.scale_events.append(
                    f"{minute:5.1f} min {result.decision.action} -> {result.decision.desired}: "
                    f"{result.decision.reasons[0] if result.decision.reasons else ''}"[:90]
                )
        self._census(stats, now)

    def _dispatch(self, kind: EventKind, instance_id: str) -> None:
        if kind is EventKind.LAUNCH_ACTION:
            self.host.launch(instance_id)
        elif kind is EventKind.TERMINATE_ACTION:
            self._spawn(self._terminate_action, instance_id)
        elif kind is EventKind.TERMINATED:
            self.host.terminated(instance_id)
        elif kind is EventKind.HOOK_TIMEOUT:
            self.hook_timeouts += 1

    def _terminate_action(self, instance_id: str) -> None:
        """EventBridge delivers the terminate lifecycle event to the lifecycle handler."""
        event = terminate_event(
            self.asg.group_name, instance_id, self.asg.action_token(instance_id), self.clock.now()
        )
        handle_terminate(event, self.drain_deps, self.drain, self.clock.now() + 900)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _census(self, stats: DemoStats, now: float) -> None:
        states = [s.state.value for s in self.fleet.describe()]
        stats.sim_elapsed_s = now - self.t0
        stats.desired = self.fleet.desired
        stats.in_service = states.count("InService")
        stats.booting = sum(s.startswith("Pending") for s in states)
        stats.draining = sum(s.startswith("Terminating") for s in states)

    def queue_empty(self) -> bool:
        with self.standin.state.lock:
            return all(j.status in ("success", "failed") for j in self.standin.state.jobs.values())

    def scale_to_zero(self) -> None:
        """What ``destroy`` does first, through the same code: the autoscaler paused, scale-in
        protection lifted, min and desired 0; every instance drains through its hook."""
        self.tick_s = float("inf")
        self.next_tick = float("inf")
        start_scale_to_zero(self.asg, self.asg.group_name)

    def fleet_empty(self) -> bool:
        return self.instances_left() == 0

    def instances_left(self) -> int:
        with self.asg.lock:
            return len(self.fleet.describe())

    def prune_runners(self) -> None:
        """The runners in GitLab go once the instances are gone (destroy's last step)."""
        registrar = _registrar(self.spec, self.factory, self.standin.url)
        plan = plan_registrations([], gather_existing(registrar))
        apply_registration_plan(plan, registrar)

    def shutdown(self) -> None:
        self.host.shutdown()
        self.standin.stop()


def terminate_event(group: str, instance_id: str, token: str, now: float) -> dict[str, Any]:
    """The EventBridge payload of an EC2 Instance-terminate Lifecycle Action."""
    when = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": token,
        "detail-type": "EC2 Instance-terminate Lifecycle Action",
        "source": "aws.autoscaling",
        "account": sandbox_state.SANDBOX_ACCOUNT,
        "time": when,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "LifecycleActionToken": token,
            "AutoScalingGroupName": group,
            "LifecycleHookName": TERMINATE_HOOK,
            "EC2InstanceId": instance_id,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
            "Origin": "AutoScalingGroup",
            "Destination": "EC2",
        },
    }


def build_world(options: DemoOptions, clock: SimClock) -> World:
    current = sandbox_state.require_running()
    spec = emulator.sandbox_spec(load_environment(options.envfile), current)
    factory = ClientFactory(
        AwsTarget(region=current.region, endpoint_url=current.endpoint, max_attempts=2)
    )
    standin = _standin(clock, spec)
    try:
        tokens = _create_runners(spec, factory, standin)
        return _assemble(spec, factory, standin, tokens, options, clock)
    except BaseException:
        standin.stop()
        raise


def _standin(clock: SimClock, spec: FleetSpec) -> GitLabStandIn:
    state = StandInState(clock=clock.now)
    seed_for_spec(state, spec)
    return GitLabStandIn(state).start()


def _registrar(spec: FleetSpec, factory: ClientFactory, url: str) -> Registrar:
    """The demo's stand-in, with the stand-in's own token."""
    gitlab = GitLabAccess(url=url, token=lambda _ssm: SANDBOX_ACCESS_TOKEN)
    return registrar_for(spec, Target(factory, gitlab))


def _create_runners(
    spec: FleetSpec, factory: ClientFactory, standin: GitLabStandIn
) -> tuple[tuple[str, str], ...]:
    """Runners created through the API, tokens into SSM; the instances read them back."""
    registrar = _registrar(spec, factory, standin.url)
    plan = plan_registrations(desired_from_spec(spec), gather_existing(registrar))
    apply_registration_plan(plan, registrar)
    return tuple(
        (reg.name, registrar.store.read(spec.token_parameter(reg))) for reg in spec.registrations
    )


def _job_target(spec: FleetSpec) -> tuple[int, tuple[str, ...]]:
    for reg in spec.registrations:
        if reg.type == "project" and reg.project_id is not None:
            return reg.project_id, reg.tags
    raise SandboxError(
        "the demo needs a project registration to send jobs to",
        hint="add a `type: project` registration to the environment file",
    )


def _assemble(  # noqa: PLR0917 - the composition root names every part once
    spec: FleetSpec,
    factory: ClientFactory,
    standin: GitLabStandIn,
    tokens: tuple[tuple[str, str], ...],
    options: DemoOptions,
    clock: SimClock,
) -> World:
    project_id, tags = _job_target(spec)
    group = f"{spec.stack}-runners"
    fleet = Fleet(_fleet_config(spec, options), clock.now(), in_service=0)
    asg = FleetModelAutoScaling(fleet, group, clock.now)
    host = InstanceHost(
        HostSettings(
            gitlab_url=standin.url,
            concurrent=spec.runner.concurrent,
            check_interval_s=options.check_interval_s,
            boot_s=options.boot_s,
            group=group,
            read_tokens=lambda: tokens,
        ),
        asg,
        clock,
    )
    settings = scaling_settings(spec)
    limits = DrainLimits(
        heartbeat_timeout_s=spec.drain.heartbeat_timeout_s, max_drain_s=spec.drain.max_drain_s
    )
    return World(
        spec=spec,
        clock=clock,
        factory=factory,
        standin=standin,
        fleet=fleet,
        asg=asg,
        host=host,
        autoscaler=EvaluationConfig(
            group_name=group,
            stack_name=spec.stack,
            policy=policy_from_scaling(settings),
            scrape=ScrapeSettings(timeout_s=1.0, deadline_s=5.0),
            pending=pending_from_scaling(settings, standin.url),
        ),
        # boto3-shaped clients over the fleet model (they answer the calls the adapter makes)
        adapter=AutoScalingAdapter(
            cast(Any, asg), cast(Any, FleetModelEc2(fleet, asg.lock)), address_of=host.address_of
        ),
        drain=DrainConfig(
            fleet=spec.stack, document=f"{spec.stack}-drain", limits=limits, group=group
        ),
        drain_deps=DrainDeps(
            records=ActionRecords(factory.client("ssm"), f"{spec.ssm_path}/drain-actions"),
            commands=host,
            actions=LifecycleActions(asg),
            metrics=_Counter(),
            clock=Clock(now=clock.now, sleep=clock.wait),
        ),
        project_id=project_id,
        job_tags=tags,
        tick_s=options.tick_s,
        t0=clock.now(),
    )


def _fleet_config(spec: FleetSpec, options: DemoOptions) -> FleetConfig:
    return FleetConfig(
        min_size=spec.capacity.min,
        max_size=spec.capacity.max,
        desired=spec.capacity.initial_desired,
        default_cooldown_s=spec.scaling.cooldown_s,
        launch_hook=HookConfig(heartbeat_timeout_s=600, default_result=ABANDON),
        terminate_hook=HookConfig(
            heartbeat_timeout_s=spec.drain.heartbeat_timeout_s, default_result=CONTINUE
        ),
        pending_s=20.0,
        terminating_s=20.0,
    )
