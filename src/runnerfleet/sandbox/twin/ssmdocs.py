"""SSM Command documents as Run Command executes them: steps, parameters, substitution.

A document comes from moto's SSM backend (what ``deploy`` created), or is one of the AWS-owned
documents the twin provides itself (``AWS-RunShellScript``, which moto lacks). Parameters are
checked as SSM checks them (unknown names, missing required values, ``allowedPattern``,
``allowedValues``), defaults fill the rest, and ``{{ Name }}`` slots are replaced; a line that
is a StringList slot alone becomes one line per value, as the agent does for ``commands``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

RUN_SHELL_SCRIPT = "aws:runShellScript"
DEFAULT_EXECUTION_TIMEOUT_S = 3600  # aws:runShellScript's timeoutSeconds default
MAX_EXECUTION_TIMEOUT_S = 172800
_SLOT = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")


class SsmError(Exception):
    """An SSM API error: its code (``__type``) and message, as AWS words them."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Step:
    """One ``mainSteps`` entry with its inputs substituted."""

    name: str
    action: str
    commands: tuple[str, ...]
    timeout_s: int
    working_directory: str


@dataclass(frozen=True)
class Document:
    name: str
    version: str
    content: Mapping[str, Any]

    @property
    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        return dict(self.content.get("parameters") or {})

    def step_names(self) -> list[str]:
        return [str(step.get("name", "")) for step in self.content.get("mainSteps") or []]


#: AWS-RunShellScript as a schema 2.2 document (the real one is schema 1.2, same parameters)
AWS_RUN_SHELL_SCRIPT = Document(
    name="AWS-RunShellScript",
    version="1",
    content={
        "schemaVersion": "2.2",
        "parameters": {
            "commands": {"type": "StringList"},
            "workingDirectory": {"type": "String", "default": ""},
            "executionTimeout": {
                "type": "String",
                "default": str(DEFAULT_EXECUTION_TIMEOUT_S),
                "allowedPattern": "[1-9][0-9]{0,5}",  # at most 172800 s
            },
        },
        "mainSteps": [
            {
                "action": RUN_SHELL_SCRIPT,
                "name": "runShellScript",
                "inputs": {
                    "runCommand": ["{{ commands }}"],
                    "workingDirectory": "{{ workingDirectory }}",
                    "timeoutSeconds": "{{ executionTimeout }}",
                },
            }
        ],
    },
)
BUILT_IN = {AWS_RUN_SHELL_SCRIPT.name: AWS_RUN_SHELL_SCRIPT}

DocumentSource = Callable[[str, str], Document]


def moto_documents(account_id: str, region: str) -> DocumentSource:
    """Documents from moto's SSM backend, the AWS-owned ones the twin knows first."""

    def _find(name: str, version: str) -> Document:
        if name in BUILT_IN:
            return BUILT_IN[name]
        from moto.ssm.models import ssm_backends

        try:
            found = ssm_backends[account_id][region].get_document(name, version, "", "JSON")
        except Exception as exc:  # moto's InvalidDocument (and its version errors)
            raise SsmError("InvalidDocument", "The specified document does not exist.") from exc
        return Document(name, str(found["DocumentVersion"]), parse_content(found["Content"]))

    return _find


def parse_content(text: str | Mapping[str, Any]) -> dict[str, Any]:
    """A document's JSON or YAML; moto keeps a stack-created document's Content as the object."""
    if isinstance(text, Mapping):
        return dict(text)
    try:
        content = json.loads(text)
    except ValueError:
        content = yaml.safe_load(text)
    if not isinstance(content, dict):
        raise SsmError("InvalidDocumentContent", "The document content is not an object.")
    return content


def resolve_parameters(
    document: Document, given: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Every parameter's values: the given ones, checked, and the defaults for the rest."""
    declared = document.parameters
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise SsmError("InvalidParameters", f"Parameters {unknown} are not in the document.")
    values: dict[str, list[str]] = {}
    for name, spec in declared.items():
        values[name] = _values_of(name, spec, given)
        _check(name, spec, values[name])
    return values


def _values_of(name: str, spec: Mapping[str, Any], given: Mapping[str, Sequence[str]]) -> list[str]:
    if name in given:
        return [str(v) for v in given[name]]
    if "default" not in spec:
        raise SsmError("InvalidParameters", f"Parameter {name!r} is required and has no value.")
    default = spec["default"]
    return [str(v) for v in default] if isinstance(default, list) else [str(default)]


def _check(name: str, spec: Mapping[str, Any], values: list[str]) -> None:
    if spec.get("type", "String") == "String" and len(values) != 1:
        raise SsmError("InvalidParameters", f"Parameter {name!r} is a String: give one value.")
    pattern = spec.get("allowedPattern")
    allowed = spec.get("allowedValues")
    for value in values:
        if pattern is not None and not re.fullmatch(str(pattern), value):
            raise SsmError(
                "InvalidParameters",
                f"Parameter {name!r} value {value!r} does not match {pattern!r}.",
            )
        if allowed is not None and value not in [str(v) for v in allowed]:
            raise SsmError("InvalidParameters", f"Parameter {name!r} allows only {allowed}.")


def steps(document: Document, values: Mapping[str, list[str]]) -> list[Step]:
    """The document's main steps with every ``{{ slot }}`` filled in."""
    found = []
    for raw in document.content.get("mainSteps") or []:
        inputs = raw.get("inputs") or {}
        commands = inputs.get("runCommand") or []
        if isinstance(commands, str):
            commands = [commands]
        timeout = fill(str(inputs.get("timeoutSeconds") or DEFAULT_EXECUTION_TIMEOUT_S), values)
        found.append(
            Step(
                name=str(raw.get("name", "")),
                action=str(raw.get("action", "")),
                commands=tuple(fill_lines([str(c) for c in commands], values)),
                timeout_s=_timeout(timeout),
                working_directory=fill(str(inputs.get("workingDirectory") or ""), values),
            )
        )
    return found


def fill(text: str, values: Mapping[str, list[str]]) -> str:
    """``{{ Name }}`` replaced by the parameter's value (a list's values, one a line)."""
    return _SLOT.sub(lambda m: "\n".join(values.get(m.group(1), [m.group(0)])), text)


def fill_lines(lines: list[str], values: Mapping[str, list[str]]) -> list[str]:
    out: list[str] = []
    for line in lines:
        alone = _SLOT.fullmatch(line.strip())
        if alone and alone.group(1) in values:
            out.extend(values[alone.group(1)])
        else:
            out.append(fill(line, values))
    return out


def _timeout(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError as exc:
        raise SsmError("InvalidDocumentContent", f"timeoutSeconds {text!r} is no number.") from exc
    return max(1, min(seconds, MAX_EXECUTION_TIMEOUT_S))
