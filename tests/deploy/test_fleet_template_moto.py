"""The real fleet template (examples/dev.yaml) through the engine into moto."""

from __future__ import annotations

import uuid

import pytest

from runnerfleet.aws.artifacts import build_zip
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.envfile import load_environment
from runnerfleet.ops.deploy import execute, fleet_synthesizer, prepare
from runnerfleet.ops.destroy import destroy
from runnerfleet.ops.parallel import run_parallel
from runnerfleet.sandbox import emulator
from runnerfleet.sandbox.state import SandboxState
from tests.conftest import EXAMPLES
from tests.deploy.helpers import Recorder, fast_settings, target_of, with_instance_type


@pytest.fixture(scope="module")
def code() -> tuple[bytes, str]:
    return build_zip()


def _spec(seeded: emulator.Seeded, env: str = "dev"):  # type: ignore[no-untyped-def]
    recorded = SandboxState(
        endpoint="http://127.0.0.1:1",
        pid=0,
        port=1,
        region="us-east-1",
        vpc_id=seeded.vpc_id,
        subnet_ids=seeded.subnet_ids,
        bucket=seeded.bucket,
        log_file="",
    )
    spec = emulator.sandbox_spec(load_environment(EXAMPLES / f"{env}.yaml"), recorded)
    return spec.model_copy(update={"stack_name": f"fleet-{uuid.uuid4().hex[:8]}"})


def _run(spec, factory: ClientFactory, code, recorder: Recorder):  # type: ignore[no-untyped-def]
    settings = fast_settings()
    prepared = prepare(
        spec,
        target_of(factory),
        synth=fleet_synthesizer(),
        code=code,
        reporter=recorder,
        settings=settings,
    )
    return prepared, execute(prepared, recorder)


def test_fleet_create_noop_instance_type_update_destroy(factory, seeded, code):
    spec, recorder = _spec(seeded), Recorder()
    prepared, result = _run(spec, factory, code, recorder)
    assert result.outcome == "created"
    assert prepared.change_set is not None
    added = {c.resource_type for c in prepared.change_set.changes if c.action == "Add"}
    assert {"AWS::AutoScaling::AutoScalingGroup", "AWS::Lambda::Function"} <= added
    code_key = prepared.request.parameters["CodeKey"]
    assert code_key.endswith(f"runnerfleet-{code[1]}.zip")

    again, noop = _run(spec, factory, code, recorder)
    assert noop.outcome == "no changes" and again.change_set is None

    bigger, updated = _run(with_instance_type(spec, "t3.large"), factory, code, recorder)
    assert updated.outcome == "updated" and bigger.change_set is not None
    assert [(c.logical_id, c.action) for c in bigger.change_set.changes] == [
        ("LaunchTemplate", "Modify")
    ]
    assert bigger.request.parameters["CodeKey"] == code_key  # same code, same key
    assert bigger.uploaded is False

    gone = destroy(
        spec,
        target_of(factory),
        confirm=lambda _s: True,
        reporter=recorder,
        settings=fast_settings(),
    )
    assert gone.outcome == "deleted"
    assert recorder.said("drain: group ") and recorder.said("is empty after")


def test_large_production_template_goes_through_s3_in_a_parallel_deploy(factory, seeded, code):
    specs = [_spec(seeded, "prod"), _spec(seeded, "dev")]
    recorder = Recorder()

    def both(spec):  # type: ignore[no-untyped-def]
        return _run(spec, factory, code, recorder)

    results = run_parallel(specs, both)
    (prod_prepared, prod), (_dev_prepared, dev) = results  # type: ignore[misc]
    assert prod.outcome == "created" and dev.outcome == "created"
    url = prod_prepared.request.template_url
    assert url and url.startswith(f"https://s3.us-east-1.amazonaws.com/{seeded.bucket}/")
    assert recorder.said("termination protection: not available in the emulator")
