"""Registrations: what the environment file wants, what exists, and the plan between them.

``plan_registrations`` is pure: it compares the desired registrations with the SSM bookkeeping
(and, when known, which runner ids still exist in GitLab) and returns a ``RegistrationPlan``.
``runnerfleet.gitlab.apply.apply_registration_plan`` carries it out in two phases: ``pre``
(create and update, before the stack update, so new instances find their tokens) and ``post``
(delete, after the rolling refresh, so old instances never lose a runner they still use).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from runnerfleet.gitlab.tokens import StoredToken

Source = Literal["managed", "ssm", "env"]
ActionKind = Literal[
    "create", "recreate", "replace", "update", "keep", "external", "legacy", "delete"
]
LEGACY_PREFIX = "legacy:"  # fingerprint of a stored legacy registration token
DESCRIPTION_PREFIX = "runnerfleet:"
RUNNER_TYPE = {"project": "project_type", "group": "group_type", "instance": "instance_type"}


@dataclass(frozen=True)
class Desired:
    """One registration as GitLab needs it. ``parameter`` is where its token is stored."""

    name: str
    runner_type: str
    scope_id: int | None
    parameter: str
    tags: tuple[str, ...] = ()
    run_untagged: bool = False
    locked: bool = True
    access_level: str = "not_protected"
    maximum_timeout: int | None = None
    source: Source = "managed"
    source_ref: str | None = None

    def settings(self) -> dict[str, Any]:
        return {
            "tag_list": sorted(self.tags),
            "run_untagged": self.run_untagged,
            "locked": self.locked,
            "access_level": self.access_level,
            "maximum_timeout": self.maximum_timeout,
        }

    @property
    def scope_key(self) -> str:
        return f"{self.runner_type}:{self.scope_id or ''}"

    def fingerprint(self) -> str:
        """Scope, then a digest of the settings: a scope change replaces, the rest updates."""
        digest = hashlib.sha256(json.dumps(self.settings(), sort_keys=True).encode())
        return f"{self.scope_key}/{digest.hexdigest()[:16]}"

    def describe(self, stack: str, environment: str) -> str:
        return f"{DESCRIPTION_PREFIX}{stack}/{self.name} ({environment})"

    def create_params(self, stack: str, environment: str) -> dict[str, Any]:
        """The ``POST /user/runners`` body."""
        params: dict[str, Any] = {
            "runner_type": self.runner_type,
            "description": self.describe(stack, environment),
            "maintenance_note": "Managed by runnerfleet: change the "
            "environment file, not this runner.",
            **self.settings(),
        }
        if self.runner_type == "project_type":
            params["project_id"] = self.scope_id
        elif self.runner_type == "group_type":
            params["group_id"] = self.scope_id
        if self.maximum_timeout is None:
            del params["maximum_timeout"]
        return params


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    name: str
    reason: str
    desired: Desired | None = None
    runner_id: int | None = None  # the existing runner (update, replace, delete)
    parameter: str | None = None


@dataclass(frozen=True)
class RegistrationPlan:
    actions: tuple[Action, ...] = ()
    problems: tuple[str, ...] = ()

    def of(self, *kinds: ActionKind) -> list[Action]:
        return [a for a in self.actions if a.kind in kinds]

    @property
    def changes(self) -> bool:
        return any(a.kind not in ("keep", "external", "legacy") for a in self.actions)

    @property
    def instances_affected(self) -> bool:
        """True when instances need new config.toml entries (a rolling refresh)."""
        return bool(self.of("create", "recreate", "replace", "delete"))

    def summary(self) -> dict[str, int]:
        return dict(Counter(a.kind for a in self.actions))


@dataclass(frozen=True)
class Existing:
    stored: Sequence[StoredToken] = ()
    gitlab_ids: frozenset[int] | None = None  # None: not checked against GitLab
    problems: tuple[str, ...] = field(default=())


def desired_from_spec(spec: Any) -> list[Desired]:
    """``FleetSpec.registrations`` as ``Desired`` (duck-typed to keep this module pure)."""
    out = []
    for reg in spec.registrations:
        ref = reg.token
        source: Source = "managed"
        source_ref = None
        if ref is not None and ref.ssm_parameter:
            source, source_ref = "ssm", ref.ssm_parameter
        elif ref is not None and ref.env:
            source, source_ref = "env", ref.env
        out.append(
            Desired(
                name=reg.name,
                runner_type=RUNNER_TYPE[reg.type],
                scope_id=reg.project_id if reg.type == "project" else reg.group_id,
                parameter=spec.token_parameter(reg),
                tags=tuple(reg.tags),
                run_untagged=reg.run_untagged,
                locked=reg.locked,
                access_level=reg.access_level,
                maximum_timeout=reg.maximum_timeout,
                source=source,
                source_ref=source_ref,
            )
        )
    return out


def plan_registrations(desired: Iterable[Desired], existing: Existing) -> RegistrationPlan:
    """Compare; every problem is reported, and a plan with problems must not be applied."""
    wanted = list(desired)
    problems = list(existing.problems) + _duplicate_problems(wanted)
    stored = {s.name: s for s in existing.stored}
    actions = [_action_for(d, stored.get(d.name), existing.gitlab_ids) for d in wanted]
    names = {d.name for d in wanted}
    for s in sorted(stored.values(), key=lambda s: s.name):
        if s.name not in names:
            actions.append(
                Action(
                    "delete",
                    s.name,
                    "no longer in the environment file",
                    runner_id=s.runner_id,
                    parameter=s.parameter,
                )
            )
    return RegistrationPlan(tuple(actions), tuple(problems))


def _duplicate_problems(wanted: list[Desired]) -> list[str]:
    counts = Counter(d.name for d in wanted)
    problems = [
        f"registrations: name {n!r} is used {c} times; names must be unique"
        for n, c in sorted(counts.items())
        if c > 1
    ]
    params = Counter(d.parameter for d in wanted)
    problems += [
        f"registrations: {c} registrations store their token in {p}"
        for p, c in sorted(params.items())
        if c > 1
    ]
    return problems


def _action_for(d: Desired, s: StoredToken | None, gitlab_ids: frozenset[int] | None) -> Action:
    special = _not_ours(d, s)
    if special is not None:
        return special
    if s is None or s.runner_id is None:
        return Action("create", d.name, "new registration", d, parameter=d.parameter)
    if gitlab_ids is not None and s.runner_id not in gitlab_ids:
        return Action(
            "recreate",
            d.name,
            f"runner {s.runner_id} is gone from GitLab",
            d,
            parameter=d.parameter,
        )
    old_scope, _, _ = s.fingerprint.partition("/")
    if old_scope != d.scope_key:
        return Action(
            "replace",
            d.name,
            f"target changed from {old_scope} to {d.scope_key}",
            d,
            runner_id=s.runner_id,
            parameter=d.parameter,
        )
    if s.fingerprint != d.fingerprint():
        return Action(
            "update",
            d.name,
            "tags or settings changed",
            d,
            runner_id=s.runner_id,
            parameter=s.parameter,
        )
    return Action("keep", d.name, "up to date", d, runner_id=s.runner_id, parameter=s.parameter)


def _not_ours(d: Desired, s: StoredToken | None) -> Action | None:
    """Tokens runnerfleet did not create: provided in SSM, or a legacy registration token."""
    if d.source == "ssm":
        return Action("external", d.name, f"token provided in {d.source_ref}", d)
    if s is not None and s.fingerprint.startswith(LEGACY_PREFIX):
        return Action(
            "legacy",
            d.name,
            "registration token: instances register themselves",
            d,
            parameter=s.parameter,
        )
    return None
