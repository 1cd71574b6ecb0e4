"""``runnerfleet doctor``: preflight and troubleshooting checks, findings as data.

Every check runs, whatever the others found; a check that crashes becomes a ``fail`` finding
with the reason, never a traceback. Each finding carries an id, a status (ok / warn / fail), a
message and, unless ok, a fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from runnerfleet.envfile.models import FleetSpec
from runnerfleet.ops.target import Capabilities, GitLabAccess, Target, no_gitlab

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    status: Status
    message: str
    fix: str = ""


def ok(check_id: str, message: str) -> Finding:
    return Finding(check_id, "ok", message)


def warn(check_id: str, message: str, fix: str) -> Finding:
    return Finding(check_id, "warn", message, fix)


def fail(check_id: str, message: str, fix: str) -> Finding:
    return Finding(check_id, "fail", message, fix)


@dataclass(frozen=True)
class DoctorContext:
    spec: FleetSpec
    clients: Any  # ClientFactory (or anything with .client(name))
    sleep: Callable[[float], None]
    gitlab: GitLabAccess = field(default_factory=lambda: no_gitlab("no GitLab given"))
    capabilities: Capabilities = field(default_factory=Capabilities)


Check = Callable[[DoctorContext], Iterable[Finding]]


def run_checks(ctx: DoctorContext, checks: Iterable[tuple[str, Check]]) -> list[Finding]:
    findings: list[Finding] = []
    for check_id, check in checks:
        try:
            findings.extend(check(ctx))
        except Exception as exc:
            findings.append(
                fail(
                    check_id,
                    f"the check could not run: {_reason(exc)}",
                    "fix the cause above (often credentials or permissions), then run doctor again",
                )
            )
    return findings


def run_doctor(
    spec: FleetSpec, target: Target, *, drift: bool = True, sleep: Callable[[float], None]
) -> list[Finding]:
    from runnerfleet.ops.doctor_account import CHECKS as ACCOUNT
    from runnerfleet.ops.doctor_gitlab import CHECKS as GITLAB
    from runnerfleet.ops.doctor_network import CHECKS as NETWORK
    from runnerfleet.ops.doctor_stack import checks as stack_checks

    ctx = DoctorContext(spec, target.clients, sleep, target.gitlab, target.capabilities)
    checks: list[tuple[str, Check]] = [
        *ACCOUNT,
        *NETWORK,
        *GITLAB,
        *stack_checks(drift=drift),
    ]
    return run_checks(ctx, checks)


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"[:300]
