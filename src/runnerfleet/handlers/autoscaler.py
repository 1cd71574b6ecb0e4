"""Lambda entry point of the autoscaler: one evaluation per invocation (every minute, or when
the webhook asks). Run it with reserved concurrency 1 so two evaluations never overlap.

Environment variables (set by the fleet template; see docs/autoscaler.md):

    RUNNERFLEET_GROUP               required  the Auto Scaling group to scale
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

Imports nothing that needs pydantic or ``runnerfleet.envfile``: the Lambda package carries only
pure-python dependencies (boto3 from the runtime, httpx, prometheus_client, croniter).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from runnerfleet.aws.autoscale_config import pending_from_scaling, policy_from_scaling
from runnerfleet.aws.autoscale_run import EvaluationConfig, evaluate
from runnerfleet.aws.autoscaling import AddressMapper, AutoScalingAdapter, private_ip
from runnerfleet.aws.clients import AwsTarget, ClientFactory, env_region
from runnerfleet.gitlab.pending import PendingQuery
from runnerfleet.gitlab.scrape import ScrapeSettings
from runnerfleet.scaling import Policy, metric_names, policy_from_mapping

ENV_ASG = "RUNNERFLEET_GROUP"
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
    ENV_DRY_RUN,
)  # fmt: skip

log = logging.getLogger("runnerfleet.autoscaler")
_cache: dict[str, Any] = {}  # per warm container: clients and the GitLab token


class ConfigError(ValueError):
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
        dry_run=_flag(env.get(ENV_DRY_RUN, "false")),
        namespace=env.get(ENV_NAMESPACE) or metric_names.NAMESPACE,
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


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def secure_parameter(factory: ClientFactory, name: str) -> str:
    """A SecureString's value, cached per container. Never logged, never returned."""
    key = f"ssm:{name}"
    if key not in _cache:
        found = factory.client("ssm").get_parameter(Name=name, WithDecryption=True)
        _cache[key] = found["Parameter"]["Value"]
    return str(_cache[key])


def run_once(
    env: Mapping[str, str],
    factory: ClientFactory,
    address_of: AddressMapper = private_ip,
) -> dict[str, Any]:
    """One evaluation with the given environment; returns the JSON-able summary."""
    config = config_from_env(env)
    token = None
    if config.pending is not None:
        token = secure_parameter(factory, env[ENV_TOKEN_PARAM])
    adapter = AutoScalingAdapter(
        factory.client("autoscaling"),
        factory.client("ec2"),
        address_of,
        cloudformation=factory.client("cloudformation"),
        stack_name=config.stack_name,
    )
    publish = _flag(env.get(ENV_PUBLISH, "true"))
    cloudwatch = factory.client("cloudwatch") if publish else None
    result = evaluate(config, adapter, cloudwatch=cloudwatch, gitlab_token=token)
    summary = result.summary()
    log.info(json.dumps(summary, sort_keys=True))
    return summary


def default_factory() -> ClientFactory:
    if "factory" not in _cache:
        _cache["factory"] = ClientFactory(AwsTarget(region=env_region()))
    factory: ClientFactory = _cache["factory"]
    return factory


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (EventBridge schedule, or an async invoke from the webhook)."""
    logging.getLogger().setLevel(logging.INFO)
    summary = run_once(os.environ, default_factory())
    summary["trigger"] = str(event.get("source", "schedule")) if event else "schedule"
    return summary
