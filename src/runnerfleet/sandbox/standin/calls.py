"""One API call to the stand-in (path parameters, query, body, headers) and its checks."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runnerfleet.sandbox.standin.model import AccessToken, ApiError, StandInState

READ = frozenset({"api", "read_api"})
RUNNER_READ = frozenset({"api", "read_api", "manage_runner"})
RUNNER_WRITE = frozenset({"api", "manage_runner"})
CREATE_RUNNER = frozenset({"api", "create_runner"})
ANY: frozenset[str] = frozenset()  # any valid token
STANDIN_VERSION = "17.11.0-standin"


@dataclass
class Call:
    state: StandInState
    params: dict[str, str]
    query: dict[str, list[str]]
    body: dict[str, Any]
    headers: dict[str, str]
    client_ip: str = ""

    def access_token(self, allowed: frozenset[str]) -> AccessToken:
        """PRIVATE-TOKEN (or Bearer) check: 401 unknown token, 403 token without a scope."""
        value = self.headers.get("private-token") or _bearer(self.headers.get("authorization"))
        token = _find_token(self.state, value)
        if token is None:
            raise ApiError(401, {"message": "401 Unauthorized"})
        if allowed and not token.scopes & allowed:
            raise ApiError(
                403,
                {
                    "error": "insufficient_scope",
                    "error_description": "The request requires higher privileges than provided "
                    "by the access token.",
                    "scope": " ".join(sorted(allowed)),
                },
            )
        return token

    def int_param(self, name: str) -> int:
        return int(self.params[name])


Result = tuple[int, Any]
Handler = Callable[[Call], Result]


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip()
    return None


def _find_token(state: StandInState, value: str | None) -> AccessToken | None:
    if not value:
        return None
    with state.lock:
        for known, token in state.tokens.items():
            if secrets.compare_digest(known, value):
                return token
    return None


# ---- entities ----
