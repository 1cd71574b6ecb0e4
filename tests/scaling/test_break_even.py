"""Break-even scale-in (``idle_time_s: auto``): an idle instance may go after k boot times."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from runnerfleet.envfile import scaling as envfile_scaling
from runnerfleet.envfile.scaling import ScalingSection
from runnerfleet.scaling import IdlePolicy, QueuePolicy, Schedule, decide
from runnerfleet.scaling import settings as scaling_settings
from runnerfleet.scaling.policies import BREAK_EVEN_K, policy_from_mapping, scale_in_idle_s
from runnerfleet.scaling.schedule import active_policy
from runnerfleet.scaling.stable import stable_until
from tests.scaling.helpers import NOW, inst, snap

EVEN = QueuePolicy(idle_count=0, idle_time_s=600, break_even_k=1.0, boot_s=90, concurrent=4)


def test_break_even_replaces_the_fixed_idle_time() -> None:
    assert scale_in_idle_s(EVEN) == 90
    assert scale_in_idle_s(QueuePolicy(idle_time_s=600, break_even_k=0.5, boot_s=30)) == 15
    assert scale_in_idle_s(IdlePolicy(idle_time_s=600, boot_s=30)) == 600  # k 0: fixed
    gone = decide(snap(inst(1, 0, slots=4, idle_for=100)), EVEN)
    kept = decide(snap(inst(1, 0, slots=4, idle_for=80)), EVEN)
    assert gone.action == "scale_in" and gone.terminate == ("i-0001",)
    assert kept.action == "hold" and kept.desired == 1


def test_quiet_time_ends_at_the_break_even_not_the_fixed_idle_time() -> None:
    # the simulator skips evaluations until this time: it must be the threshold decide reads
    assert stable_until(snap(inst(1, 0, slots=4, idle_for=30)), EVEN) == NOW + 60


@pytest.mark.parametrize(
    ("params", "message"),
    [({"break_even_k": -1}, "break_even_k"), ({"boot_s": 0}, "boot_s")],
)
def test_bad_break_even_values_are_refused(params: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        policy_from_mapping("queue", params)


def _from_env(**scaling: object) -> object:
    dumped = ScalingSection.model_validate(scaling).model_dump(mode="json")
    return scaling_settings.policy_from_scaling({"scaling": dumped, "concurrent": 4})


def test_auto_in_the_environment_file_reaches_the_autoscaler_policy() -> None:
    policy = _from_env(idle_time_s="auto", boot_estimate_s=60)
    assert isinstance(policy, QueuePolicy)
    assert policy.break_even_k == BREAK_EVEN_K and scale_in_idle_s(policy) == 60 * BREAK_EVEN_K
    unset = _from_env(idle_time_s="auto")
    assert isinstance(unset, QueuePolicy)
    assert scale_in_idle_s(unset) == scaling_settings.DEFAULT_BOOT_S * BREAK_EVEN_K
    fixed = _from_env(idle_time_s=240, boot_estimate_s=60)
    assert isinstance(fixed, QueuePolicy) and scale_in_idle_s(fixed) == 240
    assert ScalingSection(idle_time_s="auto", boot_estimate_s=75).idle_seconds == 75
    # the two layers cannot import each other: the same assumed boot time in both
    assert envfile_scaling.DEFAULT_BOOT_S == scaling_settings.DEFAULT_BOOT_S


def test_a_schedule_period_with_a_fixed_idle_time_wins_over_auto() -> None:
    period = {"cron": "* * * * *", "idle_time_s": 900}
    policy = _from_env(idle_time_s="auto", boot_estimate_s=60, schedule=[period])
    assert isinstance(policy, Schedule)
    active, _ = active_policy(policy, NOW)
    assert isinstance(active, QueuePolicy) and scale_in_idle_s(active) == 900


def test_boot_estimate_is_left_out_of_the_template_when_unset() -> None:
    assert "boot_estimate_s" not in ScalingSection().model_dump(mode="json")
    assert ScalingSection(boot_estimate_s=90).model_dump(mode="json")["boot_estimate_s"] == 90


@pytest.mark.parametrize("value", ["fast", 1.5, -3, True])
def test_idle_time_other_than_seconds_or_auto_is_one_clear_problem(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        ScalingSection.model_validate({"idle_time_s": value})
    errors = caught.value.errors()
    assert len(errors) == 1 and "neither seconds" in errors[0]["msg"]
    assert "auto" in errors[0]["msg"]
