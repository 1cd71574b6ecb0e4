"""``runners list`` and ``runners prune``: registrations, their GitLab status and managers,
matched to the live instances of the stack's Auto Scaling group.

Each instance's runner has a system_id derived from its instance id (``runnerfleet.stack.
system_id``), so a manager maps to exactly one instance. GitLab keeps a dead manager "online"
for up to 2 hours after its last contact; prune therefore trusts the instance list, not status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from runnerfleet.errors import GitLabError, RunnerfleetError
from runnerfleet.gitlab.apply import Registrar, delete_runner
from runnerfleet.gitlab.registry import DESCRIPTION_PREFIX, LEGACY_PREFIX, Desired
from runnerfleet.gitlab.tokens import StoredToken
from runnerfleet.stack.system_id import matches_instance

LEGACY_STATUS = "legacy registration token (each instance registers itself)"


@dataclass(frozen=True)
class ManagerView:
    system_id: str
    contacted_at: str | None
    version: str | None
    status: str
    instance_id: str | None  # None: matches no live instance


@dataclass(frozen=True)
class RegistrationView:
    name: str
    parameter: str
    runner_id: int | None
    status: str  # GitLab's status, or "not created" / "gone from GitLab" / "token provided"
    managers: tuple[ManagerView, ...] = ()
    in_file: bool = True
    provided: bool = False  # the operator's own token in SSM: neither runner nor token is ours


@dataclass(frozen=True)
class Orphan:
    runner_id: int
    description: str
    parameter: str | None
    reason: str


@dataclass(frozen=True)
class PrunePlan:
    managers: tuple[tuple[RegistrationView, ManagerView], ...] = ()
    runners: tuple[Orphan, ...] = ()
    tokens: tuple[str, ...] = ()  # token parameters whose runner is already gone

    @property
    def empty(self) -> bool:
        return not self.managers and not self.runners and not self.tokens


@dataclass
class PruneReport:
    managers_removed: int = 0
    runners_removed: int = 0
    tokens_removed: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        failed = f", {len(self.failures)} failed" if self.failures else ""
        return (
            f"{self.runners_removed} runner(s) deleted in GitLab, {self.tokens_removed} token "
            f"parameter(s) deleted in SSM, {self.managers_removed} manager(s) removed{failed}"
        )


def match_instance(system_id: str, instance_ids: Iterable[str]) -> str | None:
    return next((i for i in instance_ids if matches_instance(system_id, i)), None)


def collect(
    r: Registrar,
    desired: Sequence[Desired],
    stored: Sequence[StoredToken],
    instance_ids: Sequence[str],
) -> list[RegistrationView]:
    """One view per registration in the file, then one per stored token no longer in it."""
    by_name = {s.name: s for s in stored}
    views = [_desired_view(r, d, by_name, instance_ids) for d in desired]
    wanted = {d.name for d in desired}
    views += [
        _view(r, s.name, s.parameter, s.runner_id, instance_ids, in_file=False)
        for s in stored
        if s.name not in wanted
    ]
    return views


def _desired_view(
    r: Registrar, d: Desired, by_name: dict[str, StoredToken], instance_ids: Sequence[str]
) -> RegistrationView:
    found = by_name.get(d.name)
    if d.source != "ssm":
        if found is not None and found.fingerprint.startswith(LEGACY_PREFIX):
            return RegistrationView(d.name, d.parameter, None, LEGACY_STATUS)
        return _view(r, d.name, d.parameter, found.runner_id if found else None, instance_ids)
    token = r.store.read_optional(d.parameter)
    if token is None:
        return RegistrationView(d.name, d.parameter, None, "token missing", provided=True)
    if not token.startswith("glrt-"):
        return RegistrationView(d.name, d.parameter, None, LEGACY_STATUS, provided=True)
    with r.call(f"verify the provided token of {d.name}"):
        info = r.gl.http_post("/runners/verify", post_data={"token": token})
    view = _view(r, d.name, d.parameter, int(info["id"]), instance_ids)  # type: ignore[index]
    return replace(view, provided=True)


def _view(
    r: Registrar,
    name: str,
    parameter: str,
    runner_id: int | None,
    instance_ids: Sequence[str],
    *,
    in_file: bool = True,
) -> RegistrationView:
    if runner_id is None:
        return RegistrationView(name, parameter, None, "not created", in_file=in_file)
    try:
        with r.call(f"read runner {runner_id}"):
            runner = r.gl.runners.get(runner_id)
        with r.call(f"list the managers of runner {runner_id}"):
            managers = _as_dicts(r.gl.http_list(f"/runners/{runner_id}/managers", get_all=True))
    except GitLabError as exc:
        if getattr(exc.__cause__, "response_code", None) != 404:
            raise
        return RegistrationView(name, parameter, runner_id, "gone from GitLab", in_file=in_file)
    views = tuple(
        ManagerView(
            str(m["system_id"]),
            m.get("contacted_at"),
            m.get("version"),
            str(m.get("status", "")),
            match_instance(str(m["system_id"]), instance_ids),
        )
        for m in managers
    )
    return RegistrationView(name, parameter, runner_id, str(runner.status), views, in_file)


def find_orphans(
    r: Registrar,
    desired: Sequence[Desired],
    views: Sequence[RegistrationView],
    stored: Sequence[StoredToken] = (),
    instance_ids: Sequence[str] = (),
) -> list[Orphan]:
    """Runners named for this stack that no registration in the file owns.

    Searched in every project and group the file or the SSM bookkeeping mentions. A runner
    that a re-created registration replaced is one once no live instance uses it any more.
    """
    owned = {v.runner_id for v in views if v.in_file and v.runner_id is not None}
    orphans = {
        v.runner_id: Orphan(v.runner_id, v.name, v.parameter, "removed from the file")
        for v in views
        if not v.in_file and v.runner_id is not None and v.status != "gone from GitLab"
    }
    replaced = _replaced(r, stored, instance_ids)
    busy = {rid for rid, orphan in replaced.items() if orphan is None}
    orphans.update({rid: o for rid, o in replaced.items() if o is not None})
    prefix = f"{DESCRIPTION_PREFIX}{r.stack}/"
    for kind, scope_id in _scopes(desired, stored):
        with r.call(f"list the runners of {kind[:-1]} {scope_id}"):
            listed = _as_dicts(r.gl.http_list(f"/{kind}/{scope_id}/runners", get_all=True))
        for item in listed:
            rid, text = int(item["id"]), str(item.get("description") or "")
            if text.startswith(prefix) and rid not in (owned | busy) and rid not in orphans:
                orphans[rid] = Orphan(rid, text, None, "no SSM token: left by a failed run")
    return sorted(orphans.values(), key=lambda o: o.runner_id)


def _replaced(
    r: Registrar, stored: Sequence[StoredToken], instance_ids: Sequence[str]
) -> dict[int, Orphan | None]:
    """Replaced runners still in GitLab: an orphan, or None while a live instance uses it."""
    found: dict[int, Orphan | None] = {}
    for s in stored:
        for old in s.replaces:
            view = _view(r, s.name, s.parameter, old, instance_ids)
            if view.status == "gone from GitLab":
                continue
            in_use = any(m.instance_id for m in view.managers)
            reason = f"replaced by runner {s.runner_id} of {s.name}"
            found[old] = None if in_use else Orphan(old, s.name, None, reason)
    return found


def _as_dicts(items: Any) -> list[dict[str, Any]]:
    return [dict(i) for i in items]


def _scopes(desired: Sequence[Desired], stored: Sequence[StoredToken]) -> list[tuple[str, int]]:
    keys = {d.scope_key for d in desired} | {s.fingerprint.partition("/")[0] for s in stored}
    found = set()
    for key in keys:
        runner_type, _, scope_id = key.partition(":")
        if runner_type in ("project_type", "group_type") and scope_id.isdigit():
            found.add(("projects" if runner_type == "project_type" else "groups", int(scope_id)))
    return sorted(found)


def plan_prune(views: Sequence[RegistrationView], orphans: Sequence[Orphan]) -> PrunePlan:
    """Pure: managers matching no live instance (on kept runners), and orphaned runners."""
    orphan_ids = {o.runner_id for o in orphans}
    managers = tuple(
        (v, m)
        for v in views
        for m in v.managers
        if m.instance_id is None and v.runner_id not in orphan_ids
    )
    return PrunePlan(managers, tuple(orphans))


STACK_GONE = "the stack is gone"


def plan_teardown(
    views: Sequence[RegistrationView], orphans: Sequence[Orphan], stored: Sequence[StoredToken]
) -> PrunePlan:
    """Pure: the stack is gone, so every runner runnerfleet created for it goes with its token.

    Runners of tokens the operator provided stay (they are the operator's); their managers
    go, since no instance is left to use them.
    """
    ours = {s.parameter for s in stored}
    taken = {o.runner_id for o in orphans}
    gone = [
        Orphan(v.runner_id, v.name, v.parameter, STACK_GONE)
        for v in views
        if v.parameter in ours
        and v.runner_id is not None
        and v.runner_id not in taken
        and v.status != "gone from GitLab"
    ]
    runners = tuple(sorted([*orphans, *gone], key=lambda o: o.runner_id))
    with_runner = {o.parameter for o in runners}
    tokens = tuple(sorted(ours - with_runner))
    managers = tuple((v, m) for v in views if v.provided for m in v.managers)
    return PrunePlan(managers, runners, tokens)


def apply_prune(plan: PrunePlan, r: Registrar) -> PruneReport:
    """Delete the managers (runner API, with the runner's token) then the orphaned runners."""
    report = PruneReport()
    for view, manager in plan.managers:
        try:
            token = r.store.read(view.parameter)
            with r.call(f"remove manager {manager.system_id} of {view.name}"):
                r.gl.http_delete(
                    "/runners/managers", post_data={"token": token, "system_id": manager.system_id}
                )
            report.managers_removed += 1
        except GitLabError as exc:
            report.failures.append(f"{view.name} manager {manager.system_id}: {exc.message}")
    for orphan in plan.runners:
        try:
            delete_runner(orphan.runner_id, r)
            report.runners_removed += 1
            if orphan.parameter:
                r.store.delete(orphan.parameter)
                report.tokens_removed += 1
        except RunnerfleetError as exc:
            report.failures.append(f"runner {orphan.runner_id}: {exc.message}")
    for parameter in plan.tokens:
        try:
            r.store.delete(parameter)
            report.tokens_removed += 1
        except RunnerfleetError as exc:
            report.failures.append(f"token {parameter}: {exc.message}")
    return report
