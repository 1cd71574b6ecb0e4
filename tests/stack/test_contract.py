"""The template and the handlers agree: environment variable names, config JSON, tag keys."""

from __future__ import annotations

import importlib
import inspect
import json
from types import ModuleType

import pytest

from runnerfleet.ops.autoscale_env import pending_from_scaling
from runnerfleet.scaling.apply import TAG_IDLE_SINCE
from runnerfleet.scaling.settings import policy_from_scaling
from runnerfleet.stack.iam import IDLE_TAG
from runnerfleet.stack.template import synthesize
from tests.stack.helpers import all_specs, example

SPECS = all_specs()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_variable_the_stack_sets_is_read_by_its_handler(name: str) -> None:
    resources = synthesize(SPECS[name])["Resources"]
    functions = [
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert functions
    for props in functions:
        module = importlib.import_module(props["Handler"].rsplit(".", 1)[0])
        source = _source_with_use_cases(module)
        assert callable(module.handler)
        for variable in props["Environment"]["Variables"]:
            assert variable in source, f"{props['Handler']} never reads {variable}"


def _source_with_use_cases(module: ModuleType) -> str:
    """The handler's source plus the use-case and handler modules it calls into: handlers are
    thin, the variables are read where the use case is configured."""
    parts = {module.__name__: module}
    for value in vars(module).values():
        owner = getattr(value, "__module__", None) or getattr(value, "__name__", "")
        if owner.startswith(("runnerfleet.ops", "runnerfleet.handlers")):
            parts.setdefault(owner, importlib.import_module(owner))
    return "\n".join(inspect.getsource(m) for m in parts.values())


def test_autoscaler_understands_the_scaling_config() -> None:
    env = synthesize(example("dev"))["Resources"]["AutoscalerFunction"]["Properties"]
    config = json.loads(env["Environment"]["Variables"]["RUNNERFLEET_SCALING"])
    policy_from_scaling(config)  # raises on a shape it does not know
    query = pending_from_scaling(config, "https://gitlab.example.com")
    assert query is not None and query.project_ids == (1234,)
    assert "webhook" not in config["scaling"]


def test_idle_tag_matches_the_autoscaler() -> None:
    assert IDLE_TAG == TAG_IDLE_SINCE
