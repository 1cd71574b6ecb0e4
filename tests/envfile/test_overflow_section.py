"""capacity.overflow: the spot group behind the warm group, and what is refused about it."""

from __future__ import annotations

from pathlib import Path

from runnerfleet.envfile import load_environment
from tests.envfile.test_image_section import PINNED
from tests.envfile.test_loader import problems_of, write

WARM = "capacity:\n  max: 4\n  warm_pool: {min_size: 2}\n"
OVERFLOW = "  overflow: {max: 12, types: [m7i.large, m6i.large]}\n"


def test_an_overflow_behind_a_warm_pool_loads_all_spot_by_default(tmp_path: Path) -> None:
    spec = load_environment(write(tmp_path, PINNED + WARM + OVERFLOW))
    overflow = spec.capacity.overflow
    assert overflow is not None and overflow.max == 12
    assert overflow.types == ("m7i.large", "m6i.large")
    assert overflow.spot.on_demand_percentage_above_base == 0
    assert spec.instances.spot is None  # the warm group stays on-demand


def test_an_overflow_without_a_warm_pool_is_refused_at_its_line(tmp_path: Path) -> None:
    text = PINNED + "capacity:\n  max: 4\n" + OVERFLOW
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    line = text.splitlines().index(OVERFLOW.rstrip("\n")) + 1
    assert problem.startswith(f"{path}:{line}: capacity.overflow: an overflow group stands")
    assert "fix: add capacity.warm_pool" in problem


def test_spot_on_the_warm_group_points_to_the_overflow(tmp_path: Path) -> None:
    text = PINNED + "instances:\n  spot: {}\n" + WARM + OVERFLOW
    (problem,) = problems_of(write(tmp_path, text))
    assert "capacity.warm_pool: AWS refuses a warm pool" in problem
    assert "put spot capacity in capacity.overflow" in problem


def test_an_overflow_without_types_or_with_a_repeat_is_refused(tmp_path: Path) -> None:
    for types, says in (("[]", "at least one instance type"), ("[m7i.large, m7i.large]", "twice")):
        text = PINNED + WARM + f"  overflow: {{max: 4, types: {types}}}\n"
        (problem,) = problems_of(write(tmp_path, text))
        assert "capacity.overflow.types" in problem and says in problem
