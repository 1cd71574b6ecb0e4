"""Deploy environments: validate -> package -> upload -> change set -> confirm -> execute.

``deploy_environments`` is the use case the CLI calls. It runs in two phases so that several
environments deploy together with one confirmation: ``prepare`` (everything up to a reviewed
change set and a GitLab registration plan; the stack is not touched) and ``execute`` (GitLab
runners created first, the change set run with live events, removed runners deleted last).
Each environment has its own target (account, region, role, GitLab); one failing environment
becomes its result, the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from runnerfleet.aws.artifacts import (
    INLINE_TEMPLATE_LIMIT,
    Artefact,
    artefact_key,
    cached_zip,
    template_url,
    upload_if_absent,
)
from runnerfleet.aws.cloudformation import ChangeSet, StackOperations, StackRequest
from runnerfleet.aws.stackstatus import StackState
from runnerfleet.envfile import guardrails
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.envfile.policy import OrgPolicy
from runnerfleet.errors import AbortedError, AwsError, GuardrailError, RunnerfleetError
from runnerfleet.ops import changeset, registrations
from runnerfleet.ops.parallel import run_parallel
from runnerfleet.ops.ports import Reporter
from runnerfleet.ops.registrations import RegistrationSync
from runnerfleet.ops.restore import restore_after_interrupted_destroy
from runnerfleet.ops.target import Target


@dataclass(frozen=True)
class RenderedStack:
    """What synthesis hands the engine: the template and the parameter values to pass."""

    template: Mapping[str, Any]
    parameters: Mapping[str, str]


Synthesizer = Callable[[FleetSpec, Artefact], RenderedStack]


def fleet_synthesizer() -> Synthesizer:
    """FleetSpec + Lambda artefact -> the fleet template and its parameters."""
    from runnerfleet.stack import params
    from runnerfleet.stack.template import synthesize

    def synth(spec: FleetSpec, artefact: Artefact) -> RenderedStack:
        return RenderedStack(
            template=synthesize(spec), parameters=params.parameter_values(spec, artefact.key)
        )

    return synth


@dataclass
class Settings:
    """How the engine waits and what it asks; tests shorten the waits."""

    policy: OrgPolicy = field(default_factory=OrgPolicy)
    sleep: Callable[[float], None] = time.sleep
    poll_s: float = 2.0
    timeout_s: float = 3 * 3600
    # Asked when the stack is in ROLLBACK_COMPLETE; True deletes it and deploys afresh.
    offer_delete: changeset.OfferDelete = changeset.never


@dataclass
class Prepared:
    """One environment, ready to execute: its reviewed change set (None: no changes) and
    its GitLab registration plan (None: not reconciled)."""

    spec: FleetSpec
    target: Target
    stacks: StackOperations
    request: StackRequest
    state: StackState | None
    change_set: ChangeSet | None
    artefact: Artefact
    uploaded: bool
    registrations: RegistrationSync | None = None

    @property
    def env(self) -> str:
        return self.spec.name

    @property
    def has_changes(self) -> bool:
        sync = self.registrations
        return self.change_set is not None or bool(sync is not None and sync.plan.changes)


@dataclass(frozen=True)
class EnvResult:
    env: str
    stack: str
    where: str
    outcome: str  # created, updated, no changes, cancelled, deleted, absent, failed
    outputs: Mapping[str, str] = field(default_factory=dict)
    error: RunnerfleetError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class Review(Protocol):
    """Shown every prepared environment (previews); True executes the pending changes."""

    def __call__(self, prepared: Sequence[Prepared], pending: Sequence[Prepared]) -> bool: ...


@dataclass
class Deploy:
    """One deploy run: the artefact built once, the same settings for every environment."""

    settings: Settings
    reporter: Reporter
    synth: Synthesizer = field(default_factory=fleet_synthesizer)
    code: tuple[bytes, str] = field(default_factory=cached_zip)
    reconcile_runners: bool = True

    def prepare(self, spec: FleetSpec, target: Target) -> Prepared:
        item = prepare(
            spec,
            target,
            synth=self.synth,
            code=self.code,
            reporter=self.reporter,
            settings=self.settings,
        )
        if not self.reconcile_runners:
            return item
        try:
            item.registrations = registrations.plan(spec, target, self.reporter)
        except RunnerfleetError:
            cancel(item)  # no change set is left behind
            raise
        return item

    def execute(self, item: Prepared) -> EnvResult:
        sync = item.registrations
        registrations.before(sync, item.env, self.reporter)
        result = execute(item, self.reporter)
        refresh = registrations.refresh_for_new_tokens(sync, item.spec, item.target, self.reporter)
        registrations.after(sync, item.env, self.reporter, refresh)
        restored = restore_after_interrupted_destroy(item.spec, item.target)
        if restored:
            self.reporter.step(item.env, restored)
        return result


def deploy_environments(
    environments: Sequence[tuple[FleetSpec, Target]], run: Deploy, review: Review
) -> list[EnvResult]:
    """Prepare all, let ``review`` see them (one confirmation), execute all; one result each."""
    prepared = run_parallel(environments, lambda pair: run.prepare(*pair))
    ready = [p for p in prepared if isinstance(p, Prepared)]
    pending = [p for p in ready if p.has_changes]
    if not review(ready, pending):
        raise _cancelled(pending)
    with run.reporter.live():
        executed = run_parallel(ready, run.execute)
    return _merge(environments, prepared, executed)


def _merge(
    environments: Sequence[tuple[FleetSpec, Target]],
    prepared: Sequence[Prepared | RunnerfleetError],
    executed: Sequence[EnvResult | RunnerfleetError],
) -> list[EnvResult]:
    """One result per environment, in the order given, failures included."""
    done = iter(executed)
    results = []
    for (spec, target), prep in zip(environments, prepared, strict=True):
        outcome = prep if isinstance(prep, RunnerfleetError) else next(done)
        results.append(
            failed(spec, target, outcome) if isinstance(outcome, RunnerfleetError) else outcome
        )
    return results


def stack_tags(spec: FleetSpec) -> dict[str, str]:
    """Stack-level tags (CloudFormation propagates them to every resource that takes tags)."""
    return {**spec.tags, "runnerfleet:environment": spec.name}


def check_guardrails(spec: FleetSpec, policy: OrgPolicy) -> None:
    findings = guardrails.check(spec, policy)
    if guardrails.has_errors(findings):
        lines = [f"[{f.code}] {f.render()}" for f in findings if f.is_error]
        raise GuardrailError(
            f"{spec.name}: guardrails found {len(lines)} error(s); deploy refused:\n  "
            + "\n  ".join(lines),
            hint="fix them in the environment file (runnerfleet validate shows all findings)",
        )


def stack_operations(target: Target, settings: Settings) -> StackOperations:
    return StackOperations(
        target.clients.client("cloudformation"),
        sleep=settings.sleep,
        poll_s=settings.poll_s,
        timeout_s=settings.timeout_s,
        resolves_ssm_parameters=target.capabilities.resolves_ssm_parameters,
    )


def prepare(
    spec: FleetSpec,
    target: Target,
    *,
    synth: Synthesizer,
    code: tuple[bytes, str],
    reporter: Reporter,
    settings: Settings,
) -> Prepared:
    """Validate, package and compare with the deployed stack; only when they differ, upload and
    create the change set (nothing executes yet). An unchanged stack needs no S3 call: the
    deployed stack already runs this artefact's key."""
    env = spec.name
    reporter.step(env, "validate: guardrails")
    check_guardrails(spec, settings.policy)
    if target.clients.target.expected_account:
        reporter.step(env, f"credentials: account {target.clients.account_id()}")
    data, digest = code
    key = artefact_key(spec.artifacts.prefix, digest)
    artefact = Artefact(data, digest, spec.artifacts.bucket, key)
    rendered = synth(spec, artefact)
    request = StackRequest(spec.stack, rendered.template, rendered.parameters, stack_tags(spec))
    stacks = stack_operations(target, settings)
    state = changeset.usable_state(
        stacks, spec.stack, env=env, reporter=reporter, offer_delete=settings.offer_delete
    )
    if changeset.unchanged(stacks, request, state):  # the deployed stack has this artefact
        _package_step(spec, artefact, reporter, "the deployed stack's")
        reporter.step(env, changeset.SKIPPED)
        return Prepared(spec, target, stacks, request, state, None, artefact, False)
    uploaded = upload_if_absent(target.clients.client("s3"), artefact)
    _package_step(spec, artefact, reporter, "uploaded" if uploaded else "unchanged, already in S3")
    request = _large_template(request, spec, target, reporter)
    change_set = changeset.review(stacks, request, state, env=env, reporter=reporter, differs=True)
    return Prepared(spec, target, stacks, request, state, change_set, artefact, uploaded)


def _package_step(spec: FleetSpec, artefact: Artefact, reporter: Reporter, verb: str) -> None:
    where = f"s3://{artefact.bucket}/{artefact.key}"
    reporter.step(spec.name, f"package: {artefact.size // 1024} KiB, {where} ({verb})")


def _large_template(
    request: StackRequest, spec: FleetSpec, target: Target, reporter: Reporter
) -> StackRequest:
    body = request.body()
    if len(body.encode()) <= INLINE_TEMPLATE_LIMIT:
        return request
    s3, bucket, prefix = target.clients.client("s3"), spec.artifacts.bucket, spec.artifacts.prefix
    url = template_url(
        s3, bucket=bucket, prefix=prefix, stack=spec.stack, body=body, region=target.region
    )
    reporter.step(spec.name, f"template: {len(body) // 1024} KiB, too large to inline: {url}")
    return replace(request, template_url=url)


def execute(prepared: Prepared, reporter: Reporter) -> EnvResult:
    """Run the change set with live events; no change set means no changes, a success."""
    spec, env, started = prepared.spec, prepared.env, time.monotonic()
    where = prepared.target.location()
    if prepared.change_set is None:
        outputs = prepared.state.outputs if prepared.state else {}
        return EnvResult(env, spec.stack, where, "no changes", outputs)
    change_set = prepared.change_set
    final = changeset.execute(prepared.stacks, change_set, spec.stack, env=env, reporter=reporter)
    if spec.production and not final.termination_protection:
        _protect(prepared, reporter)
    outcome = "created" if change_set.change_type == "CREATE" else "updated"
    return EnvResult(env, spec.stack, where, outcome, final.outputs, None, _since(started))


def _protect(prepared: Prepared, reporter: Reporter) -> None:
    if not prepared.target.capabilities.termination_protection:
        reporter.step(prepared.env, "termination protection: not available in the emulator")
        return
    prepared.stacks.set_termination_protection(prepared.spec.stack, True)
    reporter.step(prepared.env, "termination protection: on (production)")


def cancel(prepared: Prepared) -> EnvResult:
    """The operator said no: delete the change set, change nothing."""
    changeset.discard(prepared.stacks, prepared.change_set, prepared.spec.stack)
    where = prepared.target.location()
    return EnvResult(prepared.env, prepared.spec.stack, where, "cancelled")


def _cancelled(pending: Sequence[Prepared]) -> RunnerfleetError:
    """Delete every pending change set; the error says whether that worked for each."""
    left = []
    for item in pending:
        try:
            cancel(item)
        except RunnerfleetError as exc:
            left.append(f"{item.spec.stack}: {exc.message}; {exc.hint}")
    if left:
        return AwsError(
            "deploy cancelled, nothing was executed, but change sets are left: " + " | ".join(left),
            hint="delete them with the commands shown; nothing runs unless someone executes them",
        )
    return AbortedError(
        "deploy cancelled: change sets deleted, nothing changed",
        hint="rerun and answer y (or pass --yes) to apply them",
    )


def failed(spec: FleetSpec, target: Target, error: RunnerfleetError) -> EnvResult:
    return EnvResult(spec.name, spec.stack, target.location(), "failed", error=error)


def diff(
    spec: FleetSpec,
    target: Target,
    *,
    show: Callable[[Prepared], None],
    settings: Settings,
    reporter: Reporter,
    synth: Synthesizer,
) -> Prepared:
    """What deploy would change: a change set, shown, then deleted; the stack is not touched."""
    item = prepare(
        spec, target, synth=synth, code=cached_zip(), reporter=reporter, settings=settings
    )
    try:
        show(item)
    finally:
        cancel(item)
    return item


def _since(started: float) -> float:
    return round(time.monotonic() - started, 2)
