"""The front's route for EC2: moto answers; no client ever sees a moto-assigned address.

Model instances get their loopback address in their EC2 record when they launch
(``effects.InstanceLauncher``). Instances a client runs itself (RunInstances: records only, the
twin boots nothing for them) get one from 127.0.200.0 on, before the response leaves, so every
EC2 answer (DescribeInstances, DescribeNetworkInterfaces, ...) carries loopback addresses only.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable

from runnerfleet.sandbox.twin.front import AwsRequest, Passthrough, Reply
from runnerfleet.sandbox.twin.motoglue import Ec2Records, set_address
from runnerfleet.sandbox.twin.world import Twin

RECORD_ONLY_NET = 200  # 127.0.200.x and up: instances the twin does not run


def ec2_route(twin: Twin, ec2: Ec2Records) -> Callable[[AwsRequest, Passthrough], Reply]:
    numbers = itertools.count(1)

    def route(request: AwsRequest, moto: Passthrough) -> Reply:
        with twin.lock:
            if request.action == "RunInstances":
                reply = moto()
                _loopback_all(ec2, numbers)
                return reply
            return moto()

    return route


def _loopback_all(ec2: Ec2Records, numbers: itertools.count[int]) -> None:
    for instance in ec2.instances():
        address = instance.private_ip
        if address and not ipaddress.ip_address(address).is_loopback:
            net, host = divmod(next(numbers) - 1, 250)
            set_address(instance, f"127.0.{RECORD_ONLY_NET + net}.{host + 1}")
