"""The twin's runtime parts, plugged into a ``Twin``: instances (``InstanceRuntime``), Run
Command (``twin.commands`` and the ``ssm`` route), the Lambda runtime (``twin.lambdas``, the
``lambda`` route) and EventBridge (``twin.bus``, the ``events`` route; the world loop's
``bus.tick`` fires schedules). ``assemble`` in ``__main__`` calls ``plug``."""

from __future__ import annotations

from runnerfleet.aws.clients import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY
from runnerfleet.sandbox.twin.events import LocalEventBus, events_route, moto_rules
from runnerfleet.sandbox.twin.instances import InstanceRuntime, TwinEndpoint
from runnerfleet.sandbox.twin.lambdalogs import moto_log_sink
from runnerfleet.sandbox.twin.lambdaroute import lambda_route
from runnerfleet.sandbox.twin.lambdas import LocalLambdas, moto_functions
from runnerfleet.sandbox.twin.runcommand import RunCommandService
from runnerfleet.sandbox.twin.ssmdocs import moto_documents
from runnerfleet.sandbox.twin.ssmroute import ssm_route
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
    """Put the runtime parts into ``twin``; each stops what it started when the twin closes
    (closers run newest first: Run Command stops delivering before the instances go)."""
    settings = twin.settings
    instances = InstanceRuntime(settings.home, lambda: endpoint_of(twin))
    twin.instances = instances
    twin.closers.append(instances.shutdown)
    commands = RunCommandService(
        instances, moto_documents(settings.account_id, settings.region), clock=twin.clock
    )
    twin.commands = commands
    twin.routes["ssm"] = ssm_route(commands)
    twin.closers.append(commands.close)
    lambdas = LocalLambdas(
        settings.home,
        moto_functions(settings.account_id, settings.region),
        lambda: endpoint_of(twin),
        clock=twin.clock,
        log_sink=moto_log_sink(settings.account_id, settings.region),
    )
    twin.lambdas = lambdas
    twin.routes["lambda"] = lambda_route(lambdas)
    twin.closers.append(lambdas.close)
    bus = LocalEventBus(
        moto_rules(settings.account_id, settings.region),
        lambdas,
        settings.account_id,
        settings.region,
        schedule_factor=settings.schedule_factor,
        clock=twin.clock,
    )
    twin.bus = bus
    twin.routes["events"] = events_route(bus)
    return twin
