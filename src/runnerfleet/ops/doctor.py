"""``runnerfleet doctor``: preflight and troubleshooting checks, findings as data.

Every check runs, whatever the others found; a check that crashes becomes an error finding
with the reason, never a traceback. Each finding (``runnerfleet.findings.Finding``) carries the
check as its code, a severity (ok / warning / error), a message and, unless ok, a fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.aws.awscall import error_code, error_message
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import RunnerfleetError
from runnerfleet.findings import Finding
from runnerfleet.findings import error as fail
from runnerfleet.findings import passed as ok
from runnerfleet.findings import warning as warn
from runnerfleet.ops.target import Capabilities, GitLabAccess, Target, no_gitlab

__all__ = ["Check", "DoctorContext", "Finding", "fail", "ok", "run_checks", "run_doctor", "warn"]


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
    from runnerfleet.ops.doctor_boot import CHECKS as BOOT
    from runnerfleet.ops.doctor_gitlab import CHECKS as GITLAB
    from runnerfleet.ops.doctor_network import CHECKS as NETWORK
    from runnerfleet.ops.doctor_stack import checks as stack_checks

    ctx = DoctorContext(spec, target.clients, sleep, target.gitlab, target.capabilities)
    checks: list[tuple[str, Check]] = [
        *ACCOUNT,
        *NETWORK,
        *GITLAB,
        *stack_checks(drift=drift),
        *BOOT,
    ]
    return run_checks(ctx, checks)


def _reason(exc: Exception) -> str:
    if isinstance(exc, RunnerfleetError):
        return exc.message
    if error_code(exc):
        return error_message(exc)
    return f"{type(exc).__name__}: {exc}"[:300]
