"""Lambda function URL for GitLab Job events: a pending job triggers an evaluation at once.

GitLab cannot sign requests, so the function URL is public (AuthType NONE) and the
``X-Gitlab-Token`` header is the credential: it is compared in constant time with a secret read
from an SSM SecureString, which is never logged or echoed.

Environment variables (besides the autoscaler's, see ``handlers/autoscaler.py``):

    RUNNERFLEET_WEBHOOK_SECRET_PARAMETER required  SSM SecureString name of the webhook secret
    RUNNERFLEET_AUTOSCALER_FUNCTION      unset     autoscaler function to invoke asynchronously
                                                   (recommended: keeps evaluations serial under
                                                   its reserved concurrency of 1); when unset,
                                                   the evaluation runs in this function
    RUNNERFLEET_WEBHOOK_MIN_INTERVAL_S   10        at most one trigger per interval per container
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from runnerfleet.aws.clients import ClientFactory
from runnerfleet.handlers.autoscaler import default_factory
from runnerfleet.ops.autoscale_env import SecureParameters, run_from_env

ENV_SECRET_PARAM = "RUNNERFLEET_WEBHOOK_SECRET_PARAMETER"  # noqa: S105 - a variable name
ENV_FUNCTION = "RUNNERFLEET_AUTOSCALER_FUNCTION"
ENV_MIN_INTERVAL = "RUNNERFLEET_WEBHOOK_MIN_INTERVAL_S"
ENV_VARS = (ENV_SECRET_PARAM, ENV_FUNCTION, ENV_MIN_INTERVAL)

TRIGGER_STATUSES = frozenset({"pending"})  # a job waits for a runner: capacity may be short
MAX_BODY_BYTES = 256 * 1024

log = logging.getLogger("runnerfleet.webhook")
_last_trigger: dict[str, float] = {}


def _response(status: int, message: str, **extra: Any) -> dict[str, Any]:
    body = json.dumps({"message": message, **extra})
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}


def token_ok(given: str | None, secret: str) -> bool:
    """Constant-time comparison; an empty secret never matches."""
    if not secret or given is None:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    """Header names in lower case, whatever case the event carries them in."""
    return {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}


def _body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = event.get("body") or ""
    if len(raw) > MAX_BODY_BYTES * 2:
        return None
    try:
        text = base64.b64decode(raw).decode() if event.get("isBase64Encoded") else str(raw)
        parsed = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting is not a payload
        return None
    return parsed if isinstance(parsed, dict) else None


def handle(
    event: Mapping[str, Any],
    env: Mapping[str, str],
    factory: ClientFactory,
    now: float,
) -> dict[str, Any]:
    """The whole webhook logic, with its collaborators passed in (tests call this)."""
    refused = _refuse(event, env, factory)
    if refused is not None:
        return refused
    body = _body(event)
    if _headers(event).get("x-gitlab-event") != "Job Hook" or body is None:
        return _response(202, "ignored: not a Job Hook")
    if body.get("object_kind") != "build" or body.get("build_status") not in TRIGGER_STATUSES:
        return _response(202, "ignored: job status does not need capacity")
    interval = float(env.get(ENV_MIN_INTERVAL, "10"))
    if now - _last_trigger.get("at", float("-inf")) < interval:
        return _response(202, "ignored: an evaluation was triggered moments ago")
    _last_trigger["at"] = now
    return _trigger(env, factory, body)


def _refuse(
    event: Mapping[str, Any], env: Mapping[str, str], factory: ClientFactory
) -> dict[str, Any] | None:
    """A response when the request must go no further: wrong method, bad token."""
    method = event.get("requestContext", {}).get("http", {}).get("method", "POST")
    if method != "POST":
        return _response(405, "POST only")
    secret_name = env.get(ENV_SECRET_PARAM, "")
    if not secret_name:
        return _response(500, f"{ENV_SECRET_PARAM} is not set")
    if not token_ok(
        _headers(event).get("x-gitlab-token"), SecureParameters(factory).read(secret_name)
    ):
        return _response(401, "invalid X-Gitlab-Token")
    return None


def _trigger(
    env: Mapping[str, str], factory: ClientFactory, body: dict[str, Any]
) -> dict[str, Any]:
    function = env.get(ENV_FUNCTION, "")
    if function:
        payload = {"source": "webhook", "build_id": body.get("build_id")}
        factory.client("lambda").invoke(
            FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode()
        )
        return _response(202, "evaluation triggered", mode="async")
    summary = run_from_env(env, factory).summary()
    return _response(200, "evaluated", action=summary["action"], desired=summary["desired"])


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda function URL entry point."""
    logging.getLogger().setLevel(logging.INFO)
    response = handle(event, os.environ, default_factory(), time.time())
    log.info("webhook answered %s", response["statusCode"])
    return response
