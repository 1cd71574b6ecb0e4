"""The one finding type: guardrails, input-file problems, doctor checks and access checks.

A check never raises for what it finds; it returns findings, all of them, and the caller
decides (``validate`` prints them, ``deploy`` refuses on an error, ``doctor`` exits 1). Every
finding says where (file, line, key path), what (a stable code and a message) and what to do
(``fix``). As one line, whatever produced it::

    FILE:LINE: KEY.PATH: MESSAGE; fix: WHAT TO DO
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from runnerfleet.tokenscreen import redact

Severity = Literal["error", "warning", "ok"]
FIX_SEPARATOR = "; fix: "


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stable: a rule id (RF101), a doctor check (vpc), an access check (saml.cert)
    severity: Severity
    message: str
    fix: str = ""
    key_path: str = ""  # e.g. instances.types[0]
    file: str = ""
    line: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def located(self, file: str, line: int | None = None) -> Finding:
        return replace(self, file=file, line=line if line is not None else self.line)

    def where(self) -> str:
        """``file:line: key`` as far as known."""
        place = self.file + (f":{self.line}" if self.file and self.line is not None else "")
        return ": ".join(part for part in (place, self.key_path) if part)

    def render(self) -> str:
        """The one line; anything shaped like a secret is replaced (``runnerfleet.tokenscreen``)."""
        where = self.where()
        fix = f"{FIX_SEPARATOR}{self.fix}" if self.fix else ""
        return redact(f"{where}: {self.message}{fix}" if where else f"{self.message}{fix}")


def error(code: str, message: str, fix: str, key_path: str = "") -> Finding:
    return Finding(code, "error", message, fix, key_path)


def warning(code: str, message: str, fix: str, key_path: str = "") -> Finding:
    return Finding(code, "warning", message, fix, key_path)


def passed(code: str, message: str) -> Finding:
    return Finding(code, "ok", message)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.is_error for f in findings)


def problems(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings; passed checks left out."""
    found = [f for f in findings if f.severity != "ok"]
    return sorted(found, key=lambda f: (f.severity != "error", f.code, f.key_path))
