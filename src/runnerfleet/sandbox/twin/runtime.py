"""The twin's runtime parts, plugged into a ``Twin``: instances (and, as they land, Run
Command, the Lambda runtime and EventBridge). ``assemble`` in ``__main__`` calls ``plug``."""

from __future__ import annotations

from runnerfleet.aws.clients import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY
from runnerfleet.sandbox.twin.instances import InstanceRuntime, TwinEndpoint
from runnerfleet.sandbox.twin.world import Twin


def endpoint_of(twin: Twin) -> TwinEndpoint:
    settings = twin.settings
    return TwinEndpoint(
        aws_endpoint=settings.endpoint,
        region=settings.region,
        account_id=settings.account_id,
        access_key=SANDBOX_ACCESS_KEY,
        secret_key=SANDBOX_SECRET_KEY,
    )


def plug(twin: Twin) -> Twin:
    """Put the runtime parts into ``twin``; each stops what it started when the twin closes."""
    instances = InstanceRuntime(twin.settings.home, lambda: endpoint_of(twin))
    twin.instances = instances
    twin.closers.append(instances.shutdown)
    return twin
