"""Lambda entry point of the autoscaler: one evaluation per invocation (every minute, or when
the webhook asks). Run it with reserved concurrency 1 so two evaluations never overlap.

The function's environment variables are documented in ``runnerfleet.ops.autoscale_env``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from runnerfleet.aws.clients import AwsTarget, ClientFactory, env_region
from runnerfleet.ops.autoscale_env import run_from_env

log = logging.getLogger("runnerfleet.autoscaler")
_cache: dict[str, ClientFactory] = {}  # per warm container


def default_factory() -> ClientFactory:
    if "factory" not in _cache:
        _cache["factory"] = ClientFactory(AwsTarget(region=env_region()))
    return _cache["factory"]


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (EventBridge schedule, or an async invoke from the webhook)."""
    logging.getLogger().setLevel(logging.INFO)
    summary = run_from_env(os.environ, default_factory()).summary()
    summary["trigger"] = str(event.get("source", "schedule")) if event else "schedule"
    log.info(json.dumps(summary, sort_keys=True))
    return summary
