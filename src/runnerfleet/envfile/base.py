"""The base of every environment-file section, and the pieces several sections share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

SSM_PATH_RE = r"^/[A-Za-z0-9_.\-/]{1,1000}$"


class Strict(BaseModel):
    """Base of every section: frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def refused_if(value: str, problem: str | None) -> str:
    """``value``, or the ValueError pydantic reports when a checker found a problem."""
    if problem:
        raise ValueError(problem)
    return value


class SecretRef(Strict):
    """Where a secret lives. The value itself is never in the environment file."""

    ssm_parameter: Annotated[str | None, Field(pattern=SSM_PATH_RE)] = Field(
        None, description="Name of an SSM SecureString parameter holding the secret."
    )
    env: Annotated[str | None, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = Field(
        None, description="Name of an environment variable holding the secret (operator side)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.ssm_parameter is None) == (self.env is None):
            raise ValueError("give exactly one of ssm_parameter or env; fix: keep one of the two")
        return self
