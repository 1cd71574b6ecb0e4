"""The ``organisation:`` section: one environment deployed to many accounts and regions
through a CloudFormation StackSet.

Service-managed permissions target organisational units (AWS Organizations deploys to every
account in them, and with ``auto_deployment`` to accounts that join later); self-managed
permissions target listed accounts through an administration role in this account and an
execution role in each target. Overrides set template parameters per account, per region or
per account and region. Everything here is checked before any call.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from runnerfleet.envfile.regions import region_problem

OU_RE = r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$"
ACCOUNT_RE = r"^\d{12}$"
Account = Annotated[str, Field(pattern=ACCOUNT_RE)]
OrgUnit = Annotated[str, Field(pattern=OU_RE)]


class Strict(BaseModel):
    """As ``models.Strict`` (which imports this module): frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AutoDeployment(Strict):
    enabled: bool = True
    retain_stacks_on_account_removal: bool = False


class Concurrency(Strict):
    """How a StackSet operation spreads over accounts: a count or a percentage each."""

    max_concurrent: StrictInt | None = Field(None, ge=1)
    max_concurrent_percentage: StrictInt | None = Field(None, ge=1, le=100)
    failure_tolerance: StrictInt | None = Field(None, ge=0)
    failure_tolerance_percentage: StrictInt | None = Field(None, ge=0, le=100)
    region_concurrency: Literal["sequential", "parallel"] = "sequential"

    @model_validator(mode="after")
    def _one_of_each(self) -> Concurrency:
        for key in ("max_concurrent", "failure_tolerance"):
            if getattr(self, key) is not None and getattr(self, f"{key}_percentage") is not None:
                raise ValueError(
                    f"give {key} or {key}_percentage, not both; fix: keep one of the two"
                )
        return self


class Override(Strict):
    """Template parameter values for an account, a region, or one account in one region."""

    account: Account | None = None
    region: str | None = None
    parameters: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,255}$")], str]

    @model_validator(mode="after")
    def _targets_something(self) -> Override:
        if self.account is None and self.region is None:
            raise ValueError("name an account, a region or both; fix: add account: or region:")
        if not self.parameters:
            raise ValueError("parameters is empty; fix: set at least one template parameter")
        return self


class OrganisationSection(Strict):
    permission_model: Literal["service_managed", "self_managed"] = "service_managed"
    stack_set_name: Annotated[str | None, Field(pattern=r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")] = None
    organizational_units: tuple[OrgUnit, ...] = Field(
        (), description="service_managed: ou-xxxx-yyyyyyyy or the root r-xxxx."
    )
    auto_deployment: AutoDeployment = AutoDeployment()
    accounts: tuple[Account, ...] = Field((), description="self_managed: the target accounts.")
    administration_role_arn: Annotated[
        str | None, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    ] = None
    execution_role_name: str = "AWSCloudFormationStackSetExecutionRole"
    regions: tuple[str, ...] = Field(..., min_length=1)
    overrides: tuple[Override, ...] = ()
    concurrency: Concurrency = Concurrency()

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        problems = [problem for problem in map(region_problem, value) if problem]
        if problems:
            raise ValueError("; ".join(problems))
        if len(set(value)) != len(value):
            raise ValueError("a region is listed twice; fix: remove the repeat")
        return value

    @field_validator("accounts", "organizational_units")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("an entry is listed twice; fix: remove the repeat")
        return value

    @model_validator(mode="after")
    def _targets(self) -> OrganisationSection:
        if self.permission_model == "service_managed":
            if not self.organizational_units or self.accounts:
                raise ValueError(
                    "service_managed targets organizational_units (and no accounts list); "
                    "fix: list ou-... ids, or set permission_model: self_managed"
                )
        elif not self.accounts or self.organizational_units:
            raise ValueError(
                "self_managed targets accounts (and no organizational_units); fix: list the "
                "12-digit accounts, or set permission_model: service_managed"
            )
        return self

    @model_validator(mode="after")
    def _overrides_target_deployed(self) -> OrganisationSection:
        problems = [
            problem
            for index, override in enumerate(self.overrides)
            for problem in self._override_problems(index, override)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _override_problems(self, index: int, override: Override) -> list[str]:
        problems = []
        if override.region is not None and override.region not in self.regions:
            problems.append(
                f"overrides[{index}].region {override.region} is not in regions; fix: add it "
                f"to regions or correct it ({', '.join(self.regions)})"
            )
        if override.account is None:
            return problems
        if self.permission_model == "service_managed":
            problems.append(
                f"overrides[{index}].account: service_managed stack sets target organizational "
                "units, not accounts; fix: override by region, or use permission_model: "
                "self_managed with an accounts list"
            )
        elif override.account not in self.accounts:
            problems.append(
                f"overrides[{index}].account {override.account} is not in accounts; "
                "fix: add it to accounts or correct it"
            )
        return problems
