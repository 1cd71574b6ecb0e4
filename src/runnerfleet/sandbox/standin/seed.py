"""Seeding the stand-in for the sandbox: the sandbox access token and the file's targets."""

from __future__ import annotations

from collections.abc import Iterable

from runnerfleet.sandbox.standin.model import StandInState

# Like moto's dummy AWS keys: a fixed value the sandbox stand-in accepts; never valid on GitLab.
SANDBOX_ACCESS_TOKEN = "glpat-runnerfleet-sandbox"  # noqa: S105


def seed_sandbox(
    state: StandInState, *, project_ids: Iterable[int] = (), group_ids: Iterable[int] = ()
) -> None:
    """Accept the sandbox token (admin, api scope) and create the projects and groups named."""
    state.add_access_token(SANDBOX_ACCESS_TOKEN, scopes=("api",), username="sandbox", admin=True)
    for gid in group_ids:
        state.add_group(gid, f"sandbox-group-{gid}")
    for pid in project_ids:
        state.add_project(pid, f"sandbox/project-{pid}")


def seed_for_spec(state: StandInState, spec: object) -> None:
    """Everything an environment file's registrations refer to."""
    regs = list(getattr(spec, "registrations", ()))
    seed_sandbox(
        state,
        project_ids=sorted({r.project_id for r in regs if r.project_id is not None}),
        group_ids=sorted({r.group_id for r in regs if r.group_id is not None}),
    )
