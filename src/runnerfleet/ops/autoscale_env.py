"""The autoscaler function's environment -> one evaluation with real ports.

The fleet template sets these variables (``runnerfleet.stack.wiring.autoscaler``); the
``runnerfleet autoscale`` command and the sandbox resolve the same environment from the
environment file, so every caller runs the autoscaler with the configuration the Lambda has.

    RUNNERFLEET_GROUP               required  the Auto Scaling group to scale
    RUNNERFLEET_OVERFLOW_GROUP      unset     a spot group behind it: filled only for what
                                              RUNNERFLEET_GROUP cannot take (scaling.overflow)
    RUNNERFLEET_FLEET               required  stack name: metric dimension, rolling-update check
    RUNNERFLEET_SCALING             required  JSON: {"scaling": <environment file's scaling
                                              section>, "concurrent": 4, "tags": [...],
                                              "projects": [...], "run_untagged": false}
    RUNNERFLEET_POLICY              unset     JSON {"policy": "idle", ...}: overrides the policy
    RUNNERFLEET_METRICS_PORT        9252      runner Prometheus port
    RUNNERFLEET_METRIC_NAMESPACE    Runnerfleet/Autoscaler
    RUNNERFLEET_SCRAPE_TIMEOUT_S    3         per-runner request timeout
    RUNNERFLEET_SCRAPE_DEADLINE_S   20        deadline for scraping the whole fleet
    RUNNERFLEET_SCRAPE_CONCURRENCY  64        simultaneous scrapes
    RUNNERFLEET_GITLAB_URL          unset     queue policy: GitLab base URL
    RUNNERFLEET_GITLAB_TOKEN_PARAMETER unset  queue policy: SSM SecureString with a read_api token
    RUNNERFLEET_GITLAB_PROJECT_IDS  unset     comma-separated; overrides "projects" above
    RUNNERFLEET_PUBLISH_METRICS     true      publish CloudWatch metrics
    RUNNERFLEET_DRY_RUN             false     decide and report, change nothing

Packaged into the Lambda: never imports pydantic or ``runnerfleet.envfile``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from runnerfleet.aws.autoscale_metrics import CloudWatchSink
from runnerfleet.aws.autoscaling import AddressMapper, AutoScalingAdapter, private_ip
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.errors import SpecError
from runnerfleet.gitlab.pending import PendingQuery
from runnerfleet.gitlab.scrape import ScrapeSettings
from runnerfleet.ops.autoscale import Evaluation, EvaluationConfig, HttpRunners, evaluate
from runnerfleet.scaling import metric_names
from runnerfleet.scaling.policies import Policy, policy_from_mapping
from runnerfleet.scaling.settings import policy_from_scaling

ENV_ASG = "RUNNERFLEET_GROUP"
ENV_OVERFLOW = "RUNNERFLEET_OVERFLOW_GROUP"
ENV_STACK = "RUNNERFLEET_FLEET"
ENV_SCALING = "RUNNERFLEET_SCALING"
ENV_POLICY = "RUNNERFLEET_POLICY"
ENV_PORT = "RUNNERFLEET_METRICS_PORT"
ENV_NAMESPACE = "RUNNERFLEET_METRIC_NAMESPACE"
ENV_TIMEOUT = "RUNNERFLEET_SCRAPE_TIMEOUT_S"
ENV_DEADLINE = "RUNNERFLEET_SCRAPE_DEADLINE_S"
ENV_CONCURRENCY = "RUNNERFLEET_SCRAPE_CONCURRENCY"
ENV_GITLAB_URL = "RUNNERFLEET_GITLAB_URL"
ENV_PROJECTS = "RUNNERFLEET_GITLAB_PROJECT_IDS"
ENV_TOKEN_PARAM = "RUNNERFLEET_GITLAB_TOKEN_PARAMETER"  # noqa: S105 - a variable name
ENV_PUBLISH = "RUNNERFLEET_PUBLISH_METRICS"
ENV_DRY_RUN = "RUNNERFLEET_DRY_RUN"
ENV_VARS = (
    ENV_ASG, ENV_STACK, ENV_SCALING, ENV_POLICY, ENV_PORT, ENV_NAMESPACE, ENV_TIMEOUT,
    ENV_DEADLINE, ENV_CONCURRENCY, ENV_GITLAB_URL, ENV_TOKEN_PARAM, ENV_PROJECTS, ENV_PUBLISH,
    ENV_DRY_RUN, ENV_OVERFLOW,
)  # fmt: skip

SecretReader = Callable[[str], str | None]  # SSM SecureString name -> value (None: unknown)


class ConfigError(SpecError):
    """The function's environment is incomplete or wrong; the message names the variable."""


def config_from_env(env: Mapping[str, str]) -> EvaluationConfig:
    missing = [name for name in (ENV_ASG, ENV_STACK) if not env.get(name)]
    if not env.get(ENV_SCALING) and not env.get(ENV_POLICY):
        missing.append(ENV_SCALING)
    if missing:
        raise ConfigError(f"environment variables missing: {', '.join(missing)}")
    try:
        scaling = json.loads(env.get(ENV_SCALING) or "{}")
        policy = _policy(env, scaling)
        scrape = ScrapeSettings(
            port=int(env.get(ENV_PORT, "9252")),
            timeout_s=float(env.get(ENV_TIMEOUT, "3")),
            deadline_s=float(env.get(ENV_DEADLINE, "20")),
            concurrency=int(env.get(ENV_CONCURRENCY, "64")),
        )
        pending = _pending(env, scaling)
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{ENV_SCALING}, {ENV_POLICY} or scrape settings invalid: {exc}") from exc
    return EvaluationConfig(
        group_name=env[ENV_ASG],
        stack_name=env[ENV_STACK],
        policy=policy,
        scrape=scrape,
        pending=pending,
        dry_run=flag(env.get(ENV_DRY_RUN, "false")),
        namespace=env.get(ENV_NAMESPACE) or metric_names.NAMESPACE,
        overflow_group=env.get(ENV_OVERFLOW) or None,
    )


def _policy(env: Mapping[str, str], scaling: dict[str, Any]) -> Policy:
    if env.get(ENV_POLICY):
        params = dict(json.loads(env[ENV_POLICY]))
        return policy_from_mapping(str(params.pop("policy", "idle")), params)
    return policy_from_scaling(scaling)


def _pending(env: Mapping[str, str], scaling: dict[str, Any]) -> PendingQuery | None:
    if not env.get(ENV_TOKEN_PARAM):
        return None
    if env.get(ENV_PROJECTS):
        projects = [int(p) for p in env[ENV_PROJECTS].split(",") if p.strip()]
        scaling = {**scaling, "projects": projects}
    return pending_from_scaling(scaling, env.get(ENV_GITLAB_URL))


def pending_from_scaling(config: Mapping[str, Any], gitlab_url: str | None) -> PendingQuery | None:
    """What to ask GitLab for the queue policy: None when the policy or the data is missing.

    GitLab lists pending jobs per project only, so the queue is read for the projects the
    fleet's runners are registered to (``projects``); group and instance runners see no queue.
    """
    scaling: Mapping[str, Any] = config.get("scaling") or {}
    projects = tuple(int(p) for p in config.get("projects") or ())
    if scaling.get("policy", "queue") != "queue" or not gitlab_url or not projects:
        return None
    return PendingQuery(
        base_url=gitlab_url,
        project_ids=projects,
        tags=frozenset(str(t) for t in config.get("tags") or ()),
        run_untagged=bool(config.get("run_untagged", False)),
    )


def flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def gitlab_token(
    env: Mapping[str, str], config: EvaluationConfig, read: SecretReader
) -> str | None:
    """The queue policy's GitLab token, read only when the queue is asked for."""
    if config.pending is None:
        return None
    return read(env[ENV_TOKEN_PARAM])


def run_from_env(
    env: Mapping[str, str],
    factory: ClientFactory,
    address_of: AddressMapper = private_ip,
    read_secret: SecretReader | None = None,
) -> Evaluation:
    """One evaluation as the deployed function runs it, with clients from ``factory``."""
    config = config_from_env(env)
    token = gitlab_token(env, config, read_secret or SecureParameters(factory).read)
    group = AutoScalingAdapter(
        factory.client("autoscaling"),
        factory.client("ec2"),
        address_of,
        cloudformation=factory.client("cloudformation"),
        stack_name=config.stack_name,
    )
    metrics = None
    if flag(env.get(ENV_PUBLISH, "true")):
        cloudwatch = factory.client("cloudwatch")
        metrics = CloudWatchSink(cloudwatch, config.stack_name, config.group_name, config.namespace)
    runners = HttpRunners(config.scrape, config.pending, token)
    return evaluate(config, group, runners, metrics=metrics)


class SecureParameters:
    """SecureString values, read once per warm container. Never logged, never returned."""

    _cache: dict[str, str] = {}  # noqa: RUF012 - shared on purpose, per container

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory

    def read(self, name: str) -> str:
        if name not in self._cache:
            found = self._factory.client("ssm").get_parameter(Name=name, WithDecryption=True)
            self._cache[name] = str(found["Parameter"]["Value"])
        return self._cache[name]
