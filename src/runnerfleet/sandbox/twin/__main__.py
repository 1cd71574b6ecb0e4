"""``python -m runnerfleet.sandbox.twin``: the twin process (moto in-process behind the front).

Started in the background by ``runnerfleet sandbox start`` (``process.spawn``), which waits for
the ready file; SIGTERM or SIGINT stops the front, the world loop and everything the parts
started, then the process exits.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType

from werkzeug.serving import BaseWSGIServer, make_server

from runnerfleet.sandbox.state import MAX_SCHEDULE_FACTOR, SANDBOX_ACCOUNT
from runnerfleet.sandbox.twin import runtime
from runnerfleet.sandbox.twin.front import Front
from runnerfleet.sandbox.twin.world import Twin, TwinSettings, WorldLoop

log = logging.getLogger("runnerfleet.twin")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m runnerfleet.sandbox.twin")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--home", type=Path, required=True, help="the sandbox's home directory")
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--tick", type=float, default=0.5, help="world loop period, seconds")
    parser.add_argument("--schedule-factor", type=float, default=1.0)
    parser.add_argument(
        "--hold-lifecycle-actions",
        action="store_true",
        help="lifecycle actions wait for a client even when no instance software runs",
    )
    args = parser.parse_args(argv)
    if not 0 < args.schedule_factor <= MAX_SCHEDULE_FACTOR:
        parser.error(f"--schedule-factor must be above 0 and at most {MAX_SCHEDULE_FACTOR:g}")
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error(f"--host {args.host} is not a loopback address: the twin stays on 127/8")
    return args


def assemble(settings: TwinSettings) -> Twin:
    """The twin with every part that exists plugged in; the others stay no-op.

    The Auto Scaling side: groups over the model, stacks kept in step with them, EC2 records
    for their instances, the effects of model events. The runtime side (instances, events,
    Lambda, Run Command) replaces the no-op parts of ``Twin`` and adds its routes.
    """
    from runnerfleet.sandbox.twin import motoglue
    from runnerfleet.sandbox.twin.autoscaling import AutoScalingGroups, autoscaling_route
    from runnerfleet.sandbox.twin.cfnroute import cloudformation_route
    from runnerfleet.sandbox.twin.cfnsync import StackSync
    from runnerfleet.sandbox.twin.ec2route import ec2_route
    from runnerfleet.sandbox.twin.effects import ActionStandIn, Effects, InstanceLauncher
    from runnerfleet.sandbox.twin.world import LoopbackInstances

    motoglue.install()
    twin = runtime.plug(Twin(settings=settings))
    ec2 = motoglue.Ec2Records(settings.account_id, settings.region)
    groups = AutoScalingGroups(settings, twin.clock, InstanceLauncher(ec2, twin))
    # cfn-signal arrives only from instances that run their user data
    sync = StackSync(settings.account_id, settings.region)
    sync.expects_signals = lambda: not isinstance(twin.instances, LoopbackInstances)
    groups.stack_sync = sync
    twin.groups = groups
    twin.routes["autoscaling"] = autoscaling_route(twin)
    twin.routes["cloudformation"] = cloudformation_route(twin, groups, sync)
    twin.routes["ec2"] = ec2_route(twin, ec2)
    twin.effects.extend([Effects(twin, ec2), ActionStandIn(twin)])
    return twin


def configure_moto() -> None:
    """Lambda code never runs in moto (no Docker): the twin's own runtime runs it."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.set_config({"lambda": {"use_docker": False}})


def serve(twin: Twin, host: str, port: int) -> BaseWSGIServer:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    moto = DomainDispatcherApplication(create_backend_app)
    front = Front(moto, twin.routes)
    return make_server(host, port, front, threaded=True, request_handler=MotoRequestHandler)


def write_ready(path: Path, endpoint: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"endpoint": endpoint, "pid": os.getpid()}), encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    configure_moto()
    settings = TwinSettings(
        region=args.region,
        account_id=SANDBOX_ACCOUNT,
        home=args.home,
        tick_s=args.tick,
        schedule_factor=args.schedule_factor,
        hold_actions=args.hold_lifecycle_actions,
    )
    twin = assemble(settings)
    server = serve(twin, args.host, args.port)
    twin.settings = replace(settings, endpoint=f"http://{args.host}:{server.server_port}")
    loop = WorldLoop(twin)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    loop.start()
    write_ready(args.ready_file, twin.settings.endpoint)
    log.info("twin ready at %s (pid %d)", twin.settings.endpoint, os.getpid())
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        loop.stop()
        twin.close()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
