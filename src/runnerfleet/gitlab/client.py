"""The python-gitlab connection and the one place GitLab failures become ``GitLabError``.

The access token comes from an environment variable (``GITLAB_TOKEN`` by default) or an SSM
SecureString parameter, never from a command-line argument. No message built here carries a
token: server bodies are scrubbed of anything that looks like one before they are quoted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gitlab
import gitlab.exceptions
import requests

from runnerfleet.errors import GitLabError, SpecError
from runnerfleet.tokenscreen import redact

DEFAULT_TOKEN_ENV = "GITLAB_TOKEN"  # noqa: S105 - the variable's name, not a token
TIMEOUT_S = 15.0


def resolve_access_token(
    ref: Any | None, ssm: Any | None = None, environ: dict[str, str] | None = None
) -> str:
    """The access token from ``ref`` (a ``SecretRef``: ``env`` or ``ssm_parameter``).

    No ref means the ``GITLAB_TOKEN`` variable. The value is returned, never logged.
    """
    env = os.environ if environ is None else environ
    param = getattr(ref, "ssm_parameter", None)
    if param:
        if ssm is None:
            raise SpecError(
                f"the GitLab access token lives in SSM ({param}), but no SSM client was given",
                hint="pass an AWS target (profile or --sandbox)",
            )
        return read_secure_parameter(ssm, param, what="GitLab access token")
    name = getattr(ref, "env", None) or DEFAULT_TOKEN_ENV
    value = env.get(name, "").strip()
    if not value:
        raise GitLabError(
            f"no GitLab access token: environment variable {name} is empty or unset",
            hint=f"export {name}=<personal, group or project access token with the "
            "create_runner and manage_runner scopes>, or set runner.gitlab_token to "
            "{ssm_parameter: /path} in the environment file",
        )
    return value


def read_secure_parameter(ssm: Any, name: str, *, what: str) -> str:
    """Read one SecureString with decryption; a missing parameter is a clear input error."""
    try:
        value: str = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound as exc:
        raise SpecError(
            f"{what}: SSM parameter {name} does not exist",
            hint=f"create it: aws ssm put-parameter --type SecureString --name {name} "
            "--value <token> (or fix the reference in the environment file)",
        ) from exc
    return value


def connect(url: str, token: str, *, timeout: float = TIMEOUT_S) -> gitlab.Gitlab:
    """A python-gitlab client; no request is made until the first call."""
    return gitlab.Gitlab(url.rstrip("/"), private_token=token, timeout=timeout, keep_base_url=True)


@contextmanager
def gitlab_call(what: str, url: str) -> Iterator[None]:
    """Translate python-gitlab and transport failures of ``what`` into ``GitLabError``."""
    try:
        yield
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise GitLabError(
            f"GitLab at {url} is unreachable while trying to {what}",
            hint="check runner.gitlab_url, DNS and the network path (VPN, proxy, firewall); "
            "nothing was changed by this failed call",
        ) from exc
    except gitlab.exceptions.GitlabError as exc:
        raise http_error(what, exc.response_code, str(exc.error_message or "")) from exc


def http_error(what: str, code: int | None, body: str) -> GitLabError:
    detail = redact(body)[:300]
    if code == 401:
        return GitLabError(
            f"GitLab rejected the access token (401) while trying to {what}",
            hint="the token is wrong, expired or revoked: create a new one and "
            "update GITLAB_TOKEN or its SSM parameter",
        )
    if code == 403:
        return GitLabError(
            f"the access token may not {what} (403: {detail})",
            hint="give the token the create_runner and manage_runner scopes (or api), and "
            "at least the Maintainer role on the project or Owner on the group; instance "
            "runners need an administrator",
        )
    if code == 404:
        return GitLabError(
            f"not found (404) while trying to {what}: {detail}",
            hint="check the project_id/group_id in the environment file, and "
            "that the token's user can see it",
        )
    return GitLabError(
        f"GitLab answered HTTP {code} while trying to {what}: {detail}",
        hint="retry later; if it persists, check GitLab's health page",
    )
