"""Carry out a ``RegistrationPlan`` against GitLab and SSM, all or nothing for the creates.

Order matters. Before anything changes, a preflight checks the access token's scopes and that
every target project or group exists, so a 403 or a 404 leaves nothing behind. Runners are
then created one by one with their tokens held in memory; only when all exist are the tokens
written to SSM. If the third creation fails, the first two are deleted again; whatever cannot
be deleted is named in the error, and ``runnerfleet runners prune`` finds it by description.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import gitlab
import gitlab.exceptions
from gitlab.v4.objects import CurrentUserRunnerManager

from runnerfleet.errors import GitLabError, RunnerfleetError, SpecError
from runnerfleet.gitlab.client import gitlab_call
from runnerfleet.gitlab.registry import (
    LEGACY_PREFIX,
    Action,
    ActionKind,
    Desired,
    Existing,
    RegistrationPlan,
)
from runnerfleet.gitlab.tokens import TokenStore

Phase = Literal["pre", "post", "all"]
CREATING: tuple[ActionKind, ...] = ("create", "recreate", "replace")
LEGACY_WARNING = (
    "registration {name}: a legacy registration token. Registration tokens are deprecated "
    "since GitLab 15.6, disabled by default since 17.0 and planned for removal in 20.0; each "
    "instance registers a runner of its own with it. Remove `token:` from the registration "
    "to let runnerfleet create one glrt- runner instead."
)


@dataclass
class Registrar:
    """Everything apply needs: a python-gitlab client, the token store, names for descriptions."""

    gl: gitlab.Gitlab
    url: str
    store: TokenStore
    stack: str
    environment: str
    # the process environment carries tokens (GITLAB_TOKEN, registrations' variables)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    warn: Callable[[str], None] = lambda message: None
    progress: Callable[[str], None] = lambda message: None

    def call(self, what: str) -> Any:
        return gitlab_call(what, self.url)


@dataclass
class Created:
    action: Action
    runner_id: int | None  # None: a legacy registration token, no runner yet
    token: str = field(repr=False)


@dataclass
class ApplyReport:
    created: list[tuple[str, int | None]] = field(default_factory=list)
    updated: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[tuple[str, int | None]] = field(default_factory=list)
    kept: list[tuple[str, int]] = field(default_factory=list)  # replaced, still in use
    warnings: list[str] = field(default_factory=list)


def gather_existing(r: Registrar, *, check_gitlab: bool = True) -> Existing:
    """The SSM bookkeeping, and which of its runner ids GitLab still knows."""
    stored = r.store.list()
    if not check_gitlab:
        return Existing(tuple(stored))
    alive = set()
    for s in stored:
        if s.runner_id is not None and runner_exists(r, s.runner_id):
            alive.add(s.runner_id)
    return Existing(tuple(stored), frozenset(alive))


def runner_exists(r: Registrar, runner_id: int) -> bool:
    try:
        with r.call(f"read runner {runner_id}"):
            r.gl.runners.get(runner_id)
    except GitLabError as exc:
        if (
            isinstance(exc.__cause__, gitlab.exceptions.GitlabGetError)
            and exc.__cause__.response_code == 404
        ):
            return False
        raise
    return True


def apply_registration_plan(
    plan: RegistrationPlan, r: Registrar, phase: Phase = "all", *, keep_replaced: bool = False
) -> ApplyReport:
    """``pre``: create and update; ``post``: delete; ``all``: both (no instances involved).

    ``keep_replaced``: instances still run with the replaced runners' tokens (a refresh is
    replacing them), so those runners stay; ``runners prune`` deletes them once unused.
    """
    if plan.problems:
        raise SpecError(
            "the registrations cannot be applied",
            problems=list(plan.problems),
            hint="fix the registrations in the environment file",
        )
    report = ApplyReport()
    if phase in ("pre", "all"):
        check_external(plan, r, report)
        preflight(plan, r)
        created = create_all(plan.of(*CREATING), r, report)
        store_all(created, r)
        report.created = [(c.action.name, c.runner_id) for c in created]
        for action in plan.of("update"):
            update_runner(action, r)
            report.updated.append((action.name, action.runner_id or 0))
    if phase in ("post", "all"):
        delete_all(plan, r, report, keep_replaced=keep_replaced)
    return report


def check_external(plan: RegistrationPlan, r: Registrar, report: ApplyReport) -> None:
    """Tokens the operator provides in SSM must exist; every missing one is reported.

    A value that is not a glrt- token is a legacy registration token: it gets the warning.
    """
    missing = []
    for a in plan.of("external"):
        ref = a.desired.source_ref if a.desired else None
        value = r.store.read_optional(ref) if ref else None
        if value is None:
            missing.append(f"registration {a.name}: token parameter {ref} does not exist")
        elif not value.startswith("glrt-"):
            _legacy_warning(a.name, r, report)
    if missing:
        raise SpecError(
            "token references missing in SSM; nothing was changed",
            problems=missing,
            hint="create each parameter (aws ssm put-parameter --type SecureString --name ... "
            "--value glrt-...), or remove `token:` so runnerfleet creates the runner",
        )


def preflight(plan: RegistrationPlan, r: Registrar) -> None:
    """Scopes and targets first: a refusal here means nothing was changed."""
    creating = [
        a.desired for a in plan.of(*CREATING) if a.desired and a.desired.source == "managed"
    ]
    managing = plan.of("update", "replace", "delete")
    if not creating and not managing:
        return
    scopes = token_scopes(r)
    missing = []
    if creating and scopes is not None and not scopes & {"api", "create_runner"}:
        missing.append("create_runner")
    if managing and scopes is not None and not scopes & {"api", "manage_runner"}:
        missing.append("manage_runner")
    if missing:
        raise GitLabError(
            f"the access token lacks the {' and '.join(missing)} scope (403); nothing was changed",
            hint=f"create a token with the scopes {', '.join(missing)} (or api) and update "
            "GITLAB_TOKEN or its SSM parameter",
        )
    check_targets(creating, r)


def token_scopes(r: Registrar) -> set[str] | None:
    """The token's scopes, or None where GitLab cannot tell (older versions, OAuth tokens)."""
    try:
        with r.call("read the access token's scopes"):
            info = r.gl.http_get("/personal_access_tokens/self")
    except GitLabError as exc:
        code = getattr(exc.__cause__, "response_code", None)
        if code in (403, 404):
            return None
        raise
    return set(info.get("scopes", [])) if isinstance(info, dict) else None


def check_targets(creating: list[Desired], r: Registrar) -> None:
    problems = []
    for d in creating:
        if d.scope_id is None:
            continue
        kind = "projects" if d.runner_type == "project_type" else "groups"
        try:
            with r.call(f"read {kind[:-1]} {d.scope_id}"):
                r.gl.http_get(f"/{kind}/{d.scope_id}")
        except GitLabError as exc:
            if getattr(exc.__cause__, "response_code", None) != 404:
                raise
            problems.append(
                f"registration {d.name}: {kind[:-1]} {d.scope_id} does not exist "
                "or the token's user cannot see it (404)"
            )
    if problems:
        raise GitLabError(
            "GitLab does not know some registration targets; nothing was "
            "changed\n  - " + "\n  - ".join(problems),
            hint="fix project_id/group_id in the environment file, or give the token's user access",
        )


def create_all(actions: list[Action], r: Registrar, report: ApplyReport) -> list[Created]:
    created: list[Created] = []
    for action in actions:
        try:
            created.append(create_one(action, r, report))
        except RunnerfleetError as exc:
            rollback_runners(created, r, exc)
    return created


def create_one(action: Action, r: Registrar, report: ApplyReport) -> Created:
    d = action.desired
    assert d is not None
    r.progress(f"creating runner {d.name} ({d.scope_key})")
    if d.source == "env":
        return _from_env(action, d, r, report)
    with r.call(f"create the runner for registration {d.name}"):
        obj = CurrentUserRunnerManager(r.gl).create(d.create_params(r.stack, r.environment))
    return Created(action, int(obj.id), str(obj.token))


def _from_env(action: Action, d: Desired, r: Registrar, report: ApplyReport) -> Created:
    """A token handed over in an environment variable: adopt a glrt- runner, or keep a legacy
    registration token for the instances to register with (with the deprecation warning)."""
    value = r.environ.get(d.source_ref or "", "").strip()
    if not value:
        raise SpecError(
            f"registration {d.name}: environment variable {d.source_ref} is empty",
            hint=f"export {d.source_ref}=<token>, or remove `token:` from it",
        )
    if value.startswith("glrt-"):
        with r.call(f"verify the token of registration {d.name}"):
            found = r.gl.http_post("/runners/verify", post_data={"token": value})
        return Created(action, int(found["id"]), value)  # type: ignore[index]
    _legacy_warning(d.name, r, report)
    return Created(action, None, value)


def _legacy_warning(name: str, r: Registrar, report: ApplyReport) -> None:
    message = LEGACY_WARNING.format(name=name)
    r.warn(message)
    report.warnings.append(message)


def rollback_runners(created: list[Created], r: Registrar, cause: RunnerfleetError) -> None:
    """Delete what this run created, then re-raise ``cause`` naming any leftovers."""
    leftovers = []
    created = [c for c in created if c.runner_id is not None]
    for c in reversed(created):
        assert c.runner_id is not None
        try:
            delete_runner(c.runner_id, r)
        except RunnerfleetError:
            leftovers.append(f"{c.action.name} (runner {c.runner_id})")
    done = f"rolled back {len(created) - len(leftovers)} runner(s) created in this run"
    if leftovers:
        done += (
            "; could not delete "
            + ", ".join(leftovers)
            + ": remove them with `runnerfleet runners prune ENVFILE --apply`"
        )
    raise type(cause)(f"{cause.message}; {done}", hint=cause.hint) from cause


def store_all(created: list[Created], r: Registrar) -> None:
    """Write every token; on a failure restore the old values and delete the new runners."""
    undo: list[tuple[str, str | None, str]] = []
    try:
        for c in created:
            d = c.action.desired
            assert d is not None
            old = r.store.read_optional(d.parameter)
            undo.append((d.parameter, old, r.store.description(d.parameter) if old else ""))
            fingerprint = d.fingerprint() if c.runner_id else LEGACY_PREFIX + d.scope_key
            r.store.write(
                d.name,
                d.parameter,
                c.token,
                runner_id=c.runner_id,
                fingerprint=fingerprint,
                replaces=_replaces(c.action, d.parameter, r) if old else (),
            )
    except RunnerfleetError as exc:
        for parameter, old, description in reversed(undo):
            if old is None:
                r.store.delete(parameter)
            else:
                r.store.restore(parameter, old, description)
        rollback_runners(created, r, exc)


def _replaces(action: Action, parameter: str, r: Registrar) -> tuple[int, ...]:
    """What the new token replaces: the old runner (a replace) and any still not pruned."""
    earlier = r.store.replaced(parameter)
    if action.kind == "replace" and action.runner_id is not None:
        return (*earlier, action.runner_id)
    return earlier


def update_runner(action: Action, r: Registrar) -> None:
    d = action.desired
    assert d is not None and action.runner_id is not None
    r.progress(f"updating runner {d.name} (runner {action.runner_id})")
    with r.call(f"update runner {action.runner_id} of registration {d.name}"):
        r.gl.runners.update(action.runner_id, d.settings())
    token = r.store.read(d.parameter)
    r.store.write(
        d.name,
        d.parameter,
        token,
        runner_id=action.runner_id,
        fingerprint=d.fingerprint(),
        replaces=r.store.replaced(d.parameter),
    )


def delete_all(
    plan: RegistrationPlan, r: Registrar, report: ApplyReport, *, keep_replaced: bool = False
) -> None:
    for action in plan.of("replace", "delete"):
        if action.kind == "replace" and keep_replaced and action.runner_id is not None:
            report.kept.append((action.name, action.runner_id))
            continue
        if action.runner_id is not None:
            r.progress(f"deleting runner {action.runner_id} ({action.name}: {action.reason})")
            delete_runner(action.runner_id, r)
        if action.kind == "delete" and action.parameter:
            r.store.delete(action.parameter)
        report.deleted.append((action.name, action.runner_id))


def delete_runner(runner_id: int, r: Registrar) -> None:
    """``DELETE /runners/:id``; a runner that is already gone counts as deleted."""
    try:
        with r.call(f"delete runner {runner_id}"):
            r.gl.runners.delete(runner_id)
    except GitLabError as exc:
        if getattr(exc.__cause__, "response_code", None) != 404:
            raise
