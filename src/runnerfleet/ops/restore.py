"""After a destroy that stopped midway: the autoscaler resumed and the group's minimum restored.

Destroy pauses the autoscaler (disables its schedule rule) and sets min = desired = 0 before it
deletes the stack. Stopped in between (Ctrl-C, a timeout, a failed deletion), it leaves a fleet
that never scales again, and CloudFormation sees no change to make: the rule and the group's
bounds were changed outside it. Destroy records that it is under way (``DestroyMarker``), and
the next deploy undoes what it did.
"""

from __future__ import annotations

from runnerfleet.aws.fleet_drain import DestroyMarker, resume_autoscaler
from runnerfleet.aws.fleet_resources import find_fleet
from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.ops.target import Target


def destroy_marker(spec: FleetSpec, target: Target) -> DestroyMarker:
    return DestroyMarker(target.clients.client("ssm"), spec.ssm_path)


def restore_after_interrupted_destroy(spec: FleetSpec, target: Target) -> str | None:
    """What was restored (one line), or None when no destroy was left unfinished."""
    marker = destroy_marker(spec, target)
    started = marker.started()
    if started is None:
        return None
    clients = target.clients
    fleet = find_fleet(clients.client("cloudformation"), clients.client("events"), spec.stack)
    enabled = resume_autoscaler(clients.client("events"), fleet.schedule_rules)
    done = [f"rule {rule} enabled" for rule in enabled]
    actions = LifecycleActions(clients.client("autoscaling"))
    group = actions.group(fleet.group)
    low, current = spec.capacity.min, int(group.get("MinSize", 0))
    if current < low:
        desired = max(int(group.get("DesiredCapacity", 0)), low)
        actions.set_capacity(fleet.group, min_size=low, desired=desired)
        done.append(f"min size {current} -> {low}")
    marker.clear()
    what = ", ".join(done) or "nothing was left paused"
    return f"a destroy started at {started} stopped midway; restored: {what}"
