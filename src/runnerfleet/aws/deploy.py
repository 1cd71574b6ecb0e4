"""Deploy orchestration: validate -> package -> upload -> change set -> preview -> execute.

The engine is split in two phases so that several environments can be deployed together
with one confirmation: ``prepare`` (everything up to a reviewed change set, read-only for the
stack) and ``execute`` (runs it, streaming events). ``run_parallel`` runs either phase for many
environments, each with its own ClientFactory (own account, region and assumed role), and
returns a result per environment instead of stopping at the first failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from runnerfleet.aws.artifacts import (
    INLINE_TEMPLATE_LIMIT,
    Artefact,
    artefact_key,
    build_zip,
    template_url,
    upload_if_absent,
)
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.cloudformation import (
    ChangeSet,
    StackOperations,
    StackRequest,
    StackState,
    needs_deletion_error,
)
from runnerfleet.aws.stackstatus import REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE, StackEvent
from runnerfleet.envfile import guardrails
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.envfile.policy import OrgPolicy
from runnerfleet.errors import GuardrailError, RunnerfleetError

T = TypeVar("T")
R = TypeVar("R")
MAX_PARALLEL = 8


@dataclass(frozen=True)
class RenderedStack:
    """What synthesis hands the engine: the template and the parameter values to pass."""

    template: Mapping[str, Any]
    parameters: Mapping[str, str]


Synthesizer = Callable[[FleetSpec, Artefact], RenderedStack]


class Reporter(Protocol):
    """Where the engine says what it is doing; the CLI renders it with rich."""

    def step(self, env: str, text: str) -> None: ...
    def begin(self, env: str, total: int) -> None: ...
    def event(self, env: str, event: StackEvent) -> None: ...


@dataclass
class Settings:
    """How the engine waits and what it asks; tests shorten the waits."""

    policy: OrgPolicy = field(default_factory=OrgPolicy)
    sleep: Callable[[float], None] = time.sleep
    poll_s: float = 2.0
    timeout_s: float = 3 * 3600
    # Asked when the stack is in ROLLBACK_COMPLETE; True deletes it and deploys afresh.
    offer_delete: Callable[[StackState], bool] = lambda _state: False


@dataclass
class Prepared:
    """One environment, ready to execute: its reviewed change set, or None for no changes."""

    spec: FleetSpec
    factory: ClientFactory
    ops: StackOperations
    request: StackRequest
    state: StackState | None
    change_set: ChangeSet | None
    artefact: Artefact
    uploaded: bool

    @property
    def env(self) -> str:
        return self.spec.name


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


def location(factory: ClientFactory) -> str:
    """Short enough for a table column: account/region, or region (emulated)."""
    target = factory.target
    if target.emulated:
        return f"{target.region} (emulated)"
    return f"{target.expected_account or '?'}/{target.region}"


def stack_tags(spec: FleetSpec) -> dict[str, str]:
    """Stack-level tags (CloudFormation propagates them to every resource that takes tags)."""
    return {**spec.tags, "runnerfleet:environment": spec.name}


def check_guardrails(spec: FleetSpec, policy: OrgPolicy) -> None:
    findings = guardrails.check(spec, policy)
    if guardrails.has_errors(findings):
        lines = [
            f"[{f.rule_id}] {f.key_path}: {f.message} (fix: {f.fix})"
            for f in findings
            if f.severity == "error"
        ]
        raise GuardrailError(
            f"{spec.name}: guardrails found {len(lines)} error(s); deploy refused:\n  "
            + "\n  ".join(lines),
            hint="fix them in the environment file (runnerfleet validate shows all findings)",
        )


def prepare(
    spec: FleetSpec,
    factory: ClientFactory,
    *,
    synth: Synthesizer,
    code: tuple[bytes, str],
    reporter: Reporter,
    settings: Settings,
) -> Prepared:
    """Validate, package, upload and create the change set (nothing executes yet)."""
    env = spec.name
    reporter.step(env, "validate: guardrails")
    check_guardrails(spec, settings.policy)
    if not factory.target.emulated:
        reporter.step(env, f"credentials: account {factory.account_id()}")
    data, digest = code
    artefact = Artefact(
        data, digest, spec.artifacts.bucket, artefact_key(spec.artifacts.prefix, digest)
    )
    uploaded = upload_if_absent(factory.client("s3"), artefact)
    verb = "uploaded" if uploaded else "unchanged, already in S3"
    reporter.step(
        env, f"package: {artefact.size // 1024} KiB, s3://{artefact.bucket}/{artefact.key} ({verb})"
    )
    rendered = synth(spec, artefact)
    request = StackRequest(spec.stack, rendered.template, rendered.parameters, stack_tags(spec))
    request = _large_template(request, spec, factory, reporter)
    ops = StackOperations(
        factory.client("cloudformation"),
        sleep=settings.sleep,
        poll_s=settings.poll_s,
        timeout_s=settings.timeout_s,
        emulated=factory.target.emulated,
    )
    state = _usable_state(ops, spec, reporter, settings)
    change_set = _change_set(ops, request, state, reporter, env)
    return Prepared(spec, factory, ops, request, state, change_set, artefact, uploaded)


def _large_template(
    request: StackRequest, spec: FleetSpec, factory: ClientFactory, reporter: Reporter
) -> StackRequest:
    body = request.body()
    if len(body.encode()) <= INLINE_TEMPLATE_LIMIT:
        return request
    s3, bucket, prefix = factory.client("s3"), spec.artifacts.bucket, spec.artifacts.prefix
    url = template_url(
        s3, bucket=bucket, prefix=prefix, stack=spec.stack, body=body, region=factory.target.region
    )
    reporter.step(spec.name, f"template: {len(body) // 1024} KiB, too large to inline: {url}")
    return replace(request, template_url=url)


def _usable_state(
    ops: StackOperations, spec: FleetSpec, reporter: Reporter, settings: Settings
) -> StackState | None:
    """The deployed stack; a ROLLBACK_COMPLETE one is deleted first if the operator agrees."""
    state = ops.describe(spec.stack)
    if state is None or state.status != ROLLBACK_COMPLETE:
        return state
    if not settings.offer_delete(state):
        raise needs_deletion_error(spec.stack, state)
    reporter.step(spec.name, f"deleting {spec.stack} (ROLLBACK_COMPLETE) before creating it again")
    ops.delete_stack(state, lambda e: reporter.event(spec.name, e))
    return None


def _change_set(
    ops: StackOperations,
    request: StackRequest,
    state: StackState | None,
    reporter: Reporter,
    env: str,
) -> ChangeSet | None:
    reviewable = state is not None and state.status not in (REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE)
    if reviewable and state is not None and ops.unchanged(request, state):
        reporter.step(env, "change set: skipped, template and parameters equal the deployed")
        return None
    reporter.step(env, "change set: creating")
    change_set = ops.create_change_set(request, state)
    if change_set is None:
        reporter.step(env, "change set: AWS reports no changes (deleted)")
    return change_set


def execute(prepared: Prepared, reporter: Reporter) -> EnvResult:
    """Run the change set with live events; no change set means no changes, a success."""
    spec, env, started = prepared.spec, prepared.env, time.monotonic()
    where = location(prepared.factory)
    if prepared.change_set is None:
        outputs = prepared.state.outputs if prepared.state else {}
        return EnvResult(env, spec.stack, where, "no changes", outputs)
    change_set = prepared.change_set
    reporter.begin(env, len(change_set.changes) + 1)
    final = prepared.ops.execute(change_set, spec.stack, lambda e: reporter.event(env, e))
    if spec.production and not final.termination_protection:
        _protect(prepared, reporter)
    outcome = "created" if change_set.change_type == "CREATE" else "updated"
    return EnvResult(env, spec.stack, where, outcome, final.outputs, None, _since(started))


def _protect(prepared: Prepared, reporter: Reporter) -> None:
    if prepared.factory.target.emulated:
        reporter.step(prepared.env, "termination protection: not available in the emulator")
        return
    prepared.ops.set_termination_protection(prepared.spec.stack, True)
    reporter.step(prepared.env, "termination protection: on (production)")


def cancel(prepared: Prepared) -> EnvResult:
    """The operator said no: delete the change set, change nothing."""
    if prepared.change_set is not None:
        prepared.ops.delete_change_set(prepared.change_set, prepared.spec.stack)
    where = location(prepared.factory)
    return EnvResult(prepared.env, prepared.spec.stack, where, "cancelled")


def failed(spec: FleetSpec, factory: ClientFactory, error: RunnerfleetError) -> EnvResult:
    return EnvResult(spec.name, spec.stack, location(factory), "failed", error=error)


def package_code() -> tuple[bytes, str]:
    """Built once per run; every environment gets the same bytes and key."""
    return build_zip()


def run_parallel(items: Sequence[T], work: Callable[[T], R]) -> list[R | RunnerfleetError]:
    """``work`` for each item on a thread pool; a RunnerfleetError becomes that item's result."""

    def guarded(item: T) -> R | RunnerfleetError:
        try:
            return work(item)
        except RunnerfleetError as exc:
            return exc

    if len(items) <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(items))) as pool:
        return list(pool.map(guarded, items))


def _since(started: float) -> float:
    return round(time.monotonic() - started, 2)
