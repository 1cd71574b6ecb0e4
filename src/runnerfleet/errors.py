"""The one exception root of runnerfleet, and the exit codes the CLI maps it to.

Tree::

    RunnerfleetError                 exit 1   anything we can explain
    ├── SpecError                    exit 2   environment file, policy file, trace or input is wrong
    ├── GuardrailError               exit 3   guardrails found errors; deploy refused
    ├── CredentialsError             exit 4   no AWS credentials, or the wrong account
    ├── AwsError                     exit 5   an AWS call failed (message carries the reason)
    │   └── DeployFailedError        exit 5   a stack operation failed; events are attached
    ├── GitLabError                  exit 6   the GitLab API refused or is unreachable
    ├── SandboxError                 exit 7   the embedded emulator is not running or broken
    └── AbortedError                 exit 130 the user said no, or pressed Ctrl-C

Every message says what to fix. Nothing here ever carries a secret value.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of the ``runnerfleet`` command (README, "Exit codes")."""

    OK = 0
    ERROR = 1
    INVALID_INPUT = 2
    GUARDRAIL = 3
    CREDENTIALS = 4
    AWS = 5
    GITLAB = 6
    SANDBOX = 7
    ABORTED = 130


class RunnerfleetError(Exception):
    """Root of every error runnerfleet raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class SpecError(RunnerfleetError):
    """An input file is wrong. ``problems`` lists every problem found, not only the first."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None):
        self.problems = list(problems or [])
        body = (
            message
            if not self.problems
            else message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        )
        super().__init__(body, hint=hint)


class GuardrailError(RunnerfleetError):
    exit_code = ExitCode.GUARDRAIL


class CredentialsError(RunnerfleetError):
    exit_code = ExitCode.CREDENTIALS


class AwsError(RunnerfleetError):
    exit_code = ExitCode.AWS


class DeployFailedError(AwsError):
    """A stack operation failed; ``events`` holds the failing resources' events as text lines."""

    def __init__(self, message: str, *, events: list[str] | None = None, hint: str | None = None):
        self.events = list(events or [])
        super().__init__(message, hint=hint)


class GitLabError(RunnerfleetError):
    exit_code = ExitCode.GITLAB


class SandboxError(RunnerfleetError):
    exit_code = ExitCode.SANDBOX


class AbortedError(RunnerfleetError):
    exit_code = ExitCode.ABORTED
