"""The environment file's scaling section (as the template passes it) mapped to policies."""

from __future__ import annotations

import pytest

from runnerfleet.ops.autoscale_env import pending_from_scaling
from runnerfleet.scaling import HeadroomPolicy, IdlePolicy, QueuePolicy, Schedule
from runnerfleet.scaling.settings import policy_from_scaling


def test_seed_section() -> None:
    policy = policy_from_scaling(
        {"scaling": {"policy": "seed", "headroom_jobs": 3, "cooldown_s": 600}, "concurrent": 2}
    )
    assert policy == HeadroomPolicy(concurrent=2, headroom_jobs=3, cooldown_s=600)


def test_queue_section_with_office_hours_schedule() -> None:
    config = {
        "scaling": {
            "policy": "queue",
            "idle_count": 0,
            "idle_time_s": 300,
            "scale_factor": 0.5,
            "scale_factor_limit": 8,
            "schedule": [
                {
                    "cron": "* 8-18 * * mon-fri",
                    "timezone": "Europe/Berlin",
                    "min": 1,
                    "idle_count": 4,
                    "idle_time_s": None,
                },
            ],
        },
        "concurrent": 4,
    }
    policy = policy_from_scaling(config)
    assert isinstance(policy, Schedule) and isinstance(policy.base, QueuePolicy)
    assert policy.base.scale_factor == 0.5 and policy.base.concurrent == 4
    assert dict(policy.periods[0].overrides) == {"min_instances": 1, "idle_count": 4}


def test_defaults_follow_the_environment_file_defaults() -> None:
    policy = policy_from_scaling({"scaling": {"policy": "idle"}})
    assert policy == IdlePolicy(idle_count=2, idle_time_s=120, scale_factor=0.25, cooldown_s=300)


def test_bad_sections_name_the_problem() -> None:
    with pytest.raises(ValueError, match="magic"):
        policy_from_scaling({"scaling": {"policy": "magic"}})
    with pytest.raises(ValueError, match="seed policy has no idle_count"):
        policy_from_scaling(
            {"scaling": {"policy": "seed", "schedule": [{"cron": "* * * * *", "idle_count": 1}]}}
        )
    with pytest.raises(ValueError, match="cron"):
        policy_from_scaling({"scaling": {"policy": "idle", "schedule": [{"cron": "nope"}]}})


def test_pending_query_only_for_the_queue_policy_with_projects() -> None:
    config = {"scaling": {"policy": "queue"}, "tags": ["docker"], "projects": [3, 4]}
    query = pending_from_scaling(config, "https://gitlab.example.com")
    assert query is not None and query.project_ids == (3, 4)
    assert query.tags == frozenset({"docker"}) and not query.run_untagged
    assert pending_from_scaling(config, None) is None
    assert pending_from_scaling({**config, "projects": []}, "https://g.example.com") is None
    idle = {**config, "scaling": {"policy": "idle"}}
    assert pending_from_scaling(idle, "https://gitlab.example.com") is None
