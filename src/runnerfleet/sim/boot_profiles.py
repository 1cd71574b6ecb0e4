"""Boot-time distributions for the simulator: presets with their sources, or measured boots.

``--boot-profile`` takes a preset name or a CSV file of measured boots. Presets (medians; the
simulator draws each boot lognormally around them, see ``BootProfile``):

* ``cold`` (fresh launch 180 s): every instance installs docker and the CloudWatch agent with
  dnf, downloads gitlab-runner and pulls the first job image. Amazon Linux 2023 itself is up
  in about 26 s (brevdev/ec2-coldboot-research, 2026: launch to SSH); the rest is our
  bootstrap's installs and the first pull, an estimate the simulator has always used;
* ``baked`` (fresh launch 60 s): the baked image skips the installs and the pull; 26 s of OS
  boot, then registration, verify, the launch hook and the runner's first poll. Rounded up,
  because registration talks to GitLab;
* ``warm`` (every start 30 s): an instance started out of a stopped warm pool; 21 s to SSH
  from stopped (brevdev), and AWS says warm pools serve "in as low as 30 seconds". As a
  preset every launch is such a start, the bound of a pool that never runs dry; to model a
  real pool use ``baked`` with ``--warm-pool N``.

A file of measured boots replaces the guesses: a CSV with the header ``seconds,warm_start``
(one boot per line; ``warm_start`` true for starts out of a warm pool), for example the
``boot: S s from launch to in service`` lines of the instances' bootstrap logs, or the
``BootSeconds`` metric they publish. The median and the spread of each kind become the profile.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Iterable
from pathlib import Path

from runnerfleet.errors import SpecError
from runnerfleet.sim.model import BOOT_PRESETS, BootProfile

PRESETS: dict[str, BootProfile] = {
    "cold": BootProfile(cold_s=BOOT_PRESETS["cold"], warm_s=BOOT_PRESETS["warm"]),
    "baked": BootProfile(cold_s=BOOT_PRESETS["baked"], warm_s=BOOT_PRESETS["warm"]),
    "warm": BootProfile(cold_s=BOOT_PRESETS["warm"], warm_s=BOOT_PRESETS["warm"]),
}
MIN_SAMPLES = 3
HINT = (
    f"give a preset ({', '.join(PRESETS)}) or a CSV file with the header seconds,warm_start "
    "and one measured boot per line (docs/simulator.md, boot profiles)"
)
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


def load_boot_profile(value: str) -> BootProfile:
    """A preset by name, or the profile fitted to the boots in the file ``value``."""
    if value in PRESETS:
        return PRESETS[value]
    path = Path(value)
    if not path.is_file():
        raise SpecError(f"--boot-profile {value}: no such preset or file", hint=HINT)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return parse_boots(fh, source=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}", hint=HINT) from exc


def parse_boots(lines: Iterable[str], *, source: str = "<boots>") -> BootProfile:
    cold, warm, problems = _read(lines, source)
    if len(cold) < MIN_SAMPLES:
        problems.append(
            f"{source}: {len(cold)} fresh-launch boot(s) (warm_start false); "
            f"at least {MIN_SAMPLES} are needed for a distribution"
        )
    if problems:
        raise SpecError(f"{source}: cannot use these boots", problems=problems, hint=HINT)
    warm_s = statistics.median(warm) if warm else BOOT_PRESETS["warm"]
    return BootProfile(cold_s=statistics.median(cold), warm_s=warm_s, jitter=_spread(cold))


def _read(lines: Iterable[str], source: str) -> tuple[list[float], list[float], list[str]]:
    rows = csv.reader(line for line in lines if not line.lstrip().startswith("#"))
    header = [cell.strip() for cell in next(rows, [])]
    if header[:2] != ["seconds", "warm_start"]:
        return [], [], [f"{source}: line 1: the header must be seconds,warm_start"]
    cold: list[float] = []
    warm: list[float] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        parsed = _row(row)
        if isinstance(parsed, str):
            problems.append(f"{source}: line {number}: {parsed}")
        else:
            (warm if parsed[1] else cold).append(parsed[0])
    return cold, warm, problems


def _row(row: list[str]) -> tuple[float, bool] | str:
    seconds_text = row[0].strip()
    flag = row[1].strip().lower() if len(row) > 1 else ""
    try:
        seconds = float(seconds_text)
    except ValueError:
        return f"{seconds_text!r} is not a number of seconds"
    if not math.isfinite(seconds) or not 0 < seconds < 86_400:
        return f"{seconds_text} s is not a boot time (more than 0, less than a day)"
    if flag not in _TRUE | _FALSE:
        return f"warm_start {flag!r}: use true or false"
    return seconds, flag in _TRUE


def _spread(samples: list[float]) -> float:
    """The standard deviation of log(boot): the lognormal jitter around the median."""
    if len(samples) < 2:
        return 0.0
    return statistics.stdev(math.log(s) for s in samples)
