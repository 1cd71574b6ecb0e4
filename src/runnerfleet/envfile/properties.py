"""Importing the original sample's ``KEY=value`` properties file into an environment file.

The file is read as data, never executed: every line must be a comment, blank, or
``KEY=value`` with a plain value. Anything that looks like shell (command substitution,
variable expansion, pipes, ``;``) is reported with its line number. Tokens are never copied:
the token keys become secret references plus a warning that says where to store each one, and
a secret anywhere else (a token under another key, a password inside a URL) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runnerfleet.envfile.errorfmt import FILE_KEY, problem_line
from runnerfleet.envfile.regions import region_problem
from runnerfleet.envfile.yamlsource import read_text
from runnerfleet.errors import SpecError
from runnerfleet.tokenscreen import secret_kind

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_SHELL = re.compile(r"\$\(|`|\$\{|\$[A-Za-z_]|;|&&|\|\||\||>|<|\\$")
_TOKEN_KEYS = ("RunnersToken", "RunnerRegistrationTokens")


@dataclass
class ImportResult:
    environment: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def parse_properties(path: Path) -> dict[str, tuple[int, str]]:
    """KEY -> (line number, value); collects every bad line before failing."""
    values: dict[str, tuple[int, str]] = {}
    problems: list[str] = []
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            problems.append(_problem(path, number, FILE_KEY, "not a KEY=value line", "remove it"))
            continue
        key, value = match.group(1), _unquote(match.group(2).strip())
        problem = _value_problem(key, value)
        if problem:
            problems.append(_problem(path, number, key, *problem))
            continue
        values[key] = (number, value)
    if not values and not problems:
        problems.append(_problem(path, 1, FILE_KEY, "no KEY=value line in the file", _SEED_FIX))
    if problems:
        raise SpecError(f"{path}: cannot import the properties file", problems=problems)
    return values


_SEED_FIX = "give the seed's properties file (VpcID=..., SubnetIds=..., GitlabServerURL=...)"


def _problem(path: Path, line: int, key: str, problem: str, fix: str) -> str:
    return problem_line(f"{path}:{line}", key, problem, fix)


def _value_problem(key: str, value: str) -> tuple[str, str] | None:
    """(problem, fix) for a value that is shell code, or a secret outside the token keys."""
    if _SHELL.search(value):
        return (
            "the value contains shell code; this file is read as data, never run",
            "write the plain value",
        )
    kind = None if key in _TOKEN_KEYS else secret_kind(value)
    if kind:
        return (
            f"the value holds a {kind} (not shown); it would be copied into the output",
            "remove it from the value; store secrets in SSM SecureString",
        )
    return None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value.split(" #", 1)[0].strip()


def check_target(account_id: str, region: str) -> None:
    """The account and region given on the command line, checked before the file is read."""
    problems = []
    if not re.fullmatch(r"\d{12}", account_id):
        problems.append(
            f"--account-id: {account_id[:20]!r} is not an AWS account id; "
            "fix: give the 12 digits (`aws sts get-caller-identity` prints it)"
        )
    region_text = region_problem(region)
    if region_text:
        problems.append(f"--region: {region_text}")
    if problems:
        raise SpecError("the import target is invalid", problems=problems)


def import_properties(path: Path, *, account_id: str, region: str) -> ImportResult:
    check_target(account_id, region)
    props = parse_properties(path)
    get = {key: value for key, (_, value) in props.items()}.get
    name = (get("RunnerEnvironment") or "dev").lower()
    env: dict[str, Any] = {
        "name": name,
        "production": name in ("prod", "production"),
        "aws": {"account_id": account_id, "region": region},
        "network": {"vpc_id": get("VpcID"), "subnet_ids": _split(get("SubnetIds"))},
        "instances": _instances(get),
        "capacity": _capacity(get),
        "runner": _runner(get),
        "artifacts": {"bucket": get("LambdaS3Bucket")},
        "tags": {k: v for k in ("CostCenter", "AppId") if (v := get(k))},
    }
    result = ImportResult(environment=_drop_empty(env))
    _import_tokens(props, result, stack=f"runnerfleet-{name}")
    if get("VolumeType") == "gp2":
        result.warnings.append("VolumeType gp2 kept; gp3 is about 20% cheaper at the same size")
    return result


def _instances(get: Any) -> dict[str, Any]:
    image = {"ami_id": get("ImageId")} if get("ImageId") else None
    return {
        "name": get("InstanceName"),
        "image": image,
        "types": [get("InstanceType")] if get("InstanceType") else None,
        "volume": {"size_gb": _int(get("VolumeSize")), "type": get("VolumeType")},
        "max_lifetime_s": _int(get("MaxInstanceLifetime")),
    }


def _capacity(get: Any) -> dict[str, Any]:
    return {
        "min": _int(get("MinSize")),
        "max": _int(get("MaxSize")),
        "desired": _int(get("DesiredCapacity")),
        "rolling_update": {
            "max_batch_size": _int(get("MaxBatchSize")),
            "min_in_service": _int(get("MinInstancesInService")),
        },
    }


def _runner(get: Any) -> dict[str, Any]:
    return {
        "gitlab_url": get("GitlabServerURL"),
        "concurrent": _int(get("Concurrent")),
        "check_interval": _int(get("CheckInterval")),
        "docker": {"image": get("DockerImagePath")},
    }


def _import_tokens(props: dict[str, tuple[int, str]], result: ImportResult, stack: str) -> None:
    registrations = []
    for key in _TOKEN_KEYS:
        if key not in props:
            continue
        line, value = props[key]
        for index, _token in enumerate(_split(value) or [], start=1):
            name = f"runner-{index}"
            parameter = f"/runnerfleet/{stack}/runners/{name}"
            registrations.append(
                {
                    "name": name,
                    "type": "instance",
                    "run_untagged": True,
                    "token": {"ssm_parameter": parameter},
                }
            )
            result.warnings.append(
                f"line {line}: {key} token #{index} was NOT copied; store it with `aws ssm "
                f"put-parameter --type SecureString --name {parameter} --value ...`, or create "
                f"a new runner with `runnerfleet runners create`; then set its type, project_id "
                "and tags in the environment file"
            )
    if registrations:
        result.environment["registrations"] = registrations


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def _int(value: str | None) -> int | str | None:
    if value is None or value == "":
        return None
    return int(value) if value.isdigit() else value


def _drop_empty(data: Any) -> Any:
    if isinstance(data, dict):
        cleaned = {k: _drop_empty(v) for k, v in data.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, {}, [])}
    return data
