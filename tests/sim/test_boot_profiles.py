"""Boot profiles: presets, a file of measured boots, bad files named by line, the CLI option."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from runnerfleet.errors import SpecError
from runnerfleet.sim.boot_profiles import PRESETS, load_boot_profile, parse_boots
from runnerfleet.sim.synthetic import SynthParams, generate
from runnerfleet.sim.trace import write_trace


def test_presets_are_ordered_cold_baked_warm() -> None:
    cold, baked, warm = (load_boot_profile(n) for n in ("cold", "baked", "warm"))
    assert cold.cold_s > baked.cold_s > warm.cold_s == warm.warm_s
    assert (cold.cold_s, baked.cold_s, warm.cold_s) == (180.0, 60.0, 30.0)
    assert set(PRESETS) == {"cold", "baked", "warm"}


def test_measured_boots_become_median_and_spread(tmp_path: Path) -> None:
    rng = random.Random(3)
    cold = [40 * math.exp(rng.gauss(0, 0.2)) for _ in range(400)]
    rows = [f"{s:.3f},false" for s in cold] + ["22.5,true", "25.5,true", "24.0,true"]
    path = tmp_path / "boots.csv"
    path.write_text(
        "# exported from the BootSeconds metric\nseconds,warm_start\n" + "\n".join(rows)
    )
    profile = load_boot_profile(str(path))
    assert profile.cold_s == pytest.approx(statistics.median(cold))
    assert profile.warm_s == 24.0
    assert profile.jitter == pytest.approx(0.2, abs=0.02)


def test_without_warm_boots_the_warm_start_keeps_its_preset() -> None:
    profile = parse_boots(["seconds,warm_start", "50,false", "55,false", "60,0"])
    assert profile.cold_s == 55 and profile.warm_s == PRESETS["warm"].warm_s


def test_every_bad_line_is_named() -> None:
    lines = ["seconds,warm_start", "abc,false", "-4,false", "50,maybe", "60,false"]
    with pytest.raises(SpecError) as info:
        parse_boots(lines, source="boots.csv")
    problems = info.value.problems
    assert "boots.csv: line 2: 'abc' is not a number of seconds" in problems
    assert "boots.csv: line 3: -4 s is not a boot time (more than 0, less than a day)" in problems
    assert "boots.csv: line 4: warm_start 'maybe': use true or false" in problems
    assert any("at least 3 are needed" in p for p in problems)


def test_a_missing_header_or_file_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="header must be seconds,warm_start"):
        parse_boots(["42,false"], source="b.csv")
    with pytest.raises(SpecError, match="no such preset or file") as info:
        load_boot_profile(str(tmp_path / "nope.csv"))
    assert "cold, baked, warm" in str(info.value.hint)


def test_simulate_takes_a_preset_or_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.csv"
    write_trace(trace, generate(SynthParams(days=2), seed=4))
    boots = tmp_path / "boots.csv"
    boots.write_text("seconds,warm_start\n170,false\n185,false\n200,false\n")
    p95 = {}
    for profile in ("warm", str(boots)):
        args = ["simulate", "--trace", str(trace), "--policy", "queue", "--json"]
        assert main([*args, "--boot-profile", profile]) == 0
        p95[profile] = json.loads(capsys.readouterr().out)["wait_p95_s"]
    assert p95["warm"] < p95[str(boots)]
    assert main(["simulate", "--trace", str(trace), "--boot-profile", "hot"]) == 2
    assert "no such preset or file" in capsys.readouterr().err
