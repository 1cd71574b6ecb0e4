"""How the stand-in presents runners and managers, with GitLab's field names."""

from __future__ import annotations

from typing import Any

from runnerfleet.sandbox.standin.calls import Call
from runnerfleet.sandbox.standin.model import (
    Manager,
    Runner,
    StandInState,
    iso,
    split_tags,
    to_bool,
)


def runner_item(state: StandInState, r: Runner) -> dict[str, Any]:
    status = state.status(r)
    return {
        "id": r.id,
        "description": r.description,
        "ip_address": "",
        "active": not r.paused,
        "paused": r.paused,
        "is_shared": r.runner_type == "instance_type",
        "runner_type": r.runner_type,
        "name": "gitlab-runner",
        "online": status == "online",
        "status": status,
    }


def runner_detail(state: StandInState, r: Runner) -> dict[str, Any]:
    item = runner_item(state, r)
    projects = (
        [state.projects[r.scope_id]]
        if r.runner_type == "project_type" and r.scope_id in state.projects
        else []
    )
    groups = (
        [state.groups[r.scope_id]]
        if r.runner_type == "group_type" and r.scope_id in state.groups
        else []
    )
    item.update(
        {
            "contacted_at": iso(state.contacted_at(r)),
            "maintenance_note": r.maintenance_note,
            "tag_list": list(r.tag_list),
            "access_level": r.access_level,
            "maximum_timeout": r.maximum_timeout,
            "run_untagged": r.run_untagged,
            "locked": r.locked,
            "version": None,
            "revision": None,
            "platform": None,
            "architecture": None,
            "projects": [
                {"id": p.id, "path_with_namespace": p.path, "name": p.path.rsplit("/")[-1]}
                for p in projects
            ],
            "groups": [{"id": g.id, "name": g.path.rsplit("/")[-1], "web_url": ""} for g in groups],
        }
    )
    return item


def manager_item(state: StandInState, m: Manager) -> dict[str, Any]:
    now = state.clock()
    online = m.contacted_at is not None and now - m.contacted_at <= 7200
    status = "online" if online else ("never_contacted" if m.contacted_at is None else "offline")
    return {
        "id": m.id,
        "system_id": m.system_id,
        "version": m.version,
        "revision": m.revision,
        "platform": m.platform,
        "architecture": m.architecture,
        "created_at": iso(m.created_at),
        "contacted_at": iso(m.contacted_at),
        "ip_address": m.ip_address,
        "status": status,
    }


def filter_runners(call: Call, runners: list[Runner]) -> list[dict[str, Any]]:
    q = {k: v[-1] for k, v in call.query.items() if v}
    items = []
    for r in sorted(runners, key=lambda r: r.id):
        item = runner_item(call.state, r)
        if "type" in q and r.runner_type != q["type"]:
            continue
        if (
            "status" in q
            and item["status"] != q["status"]
            and not (q["status"] == "offline" and item["status"] == "stale")
        ):
            continue
        if "paused" in q and r.paused != to_bool(q["paused"]):
            continue
        if "tag_list" in q and not set(split_tags(q["tag_list"])) <= set(r.tag_list):
            continue
        items.append(item)
    return items
