"""Use case: the image stack through the fleet's change-set engine; its parameter; a bake.

``prepare_image`` creates the reviewed change set (nothing executes), ``execute_image`` runs it
with live events and then makes sure the image's SSM parameter exists: Image Builder writes it
after each bake, and until the first one it holds the parent AMI, so that fleets can deploy
(and boot the cold way) right away. ``start_bake`` starts a pipeline run now instead of at the
next scheduled one.

EC2 Image Builder is not emulated: in the sandbox the stack deploys (its Image Builder resources
are accepted and not created), the parameter is seeded, and no image is ever baked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runnerfleet.aws.awscall import aws_call, error_code, translate
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.cloudformation import (
    ChangeSet,
    StackOperations,
    StackRequest,
    StackState,
    needs_deletion_error,
)
from runnerfleet.aws.deploy import Reporter, stack_tags
from runnerfleet.aws.stackstatus import REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE
from runnerfleet.envfile.image import BakedImageSection
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SandboxError
from runnerfleet.stack.image import require_image, synthesize_image

NOT_EMULATED = (
    "EC2 Image Builder is not emulated: the image stack deploys through change sets, its "
    "Image Builder resources are accepted but not created, and no image is baked; the "
    "parameter holds the parent AMI, so sandbox fleets boot the cold way"
)


@dataclass
class ImagePrepared:
    spec: FleetSpec
    image: BakedImageSection
    factory: ClientFactory
    ops: StackOperations
    request: StackRequest
    state: StackState | None
    change_set: ChangeSet | None


@dataclass(frozen=True)
class ImageResult:
    stack: str
    outcome: str  # created, updated, no changes
    parameter: str
    ami_id: str
    seeded: bool  # the parameter was created now, with the parent AMI
    outputs: dict[str, str]


def prepare_image(
    spec: FleetSpec,
    factory: ClientFactory,
    reporter: Reporter,
    *,
    sleep: Callable[[float], None] = time.sleep,
    poll_s: float = 2.0,
) -> ImagePrepared:
    """The image stack's change set, reviewed but not executed (None: nothing to change)."""
    image = require_image(spec)
    if factory.target.emulated:
        reporter.step(spec.name, NOT_EMULATED)
    request = StackRequest(image.stack, synthesize_image(spec), {}, stack_tags(spec))
    ops = StackOperations(
        factory.client("cloudformation"),
        sleep=sleep,
        poll_s=poll_s,
        emulated=factory.target.emulated,
    )
    state = ops.describe(image.stack)
    if state is not None and state.status == ROLLBACK_COMPLETE:
        raise needs_deletion_error(image.stack, state)
    if state is not None and state.status != REVIEW_IN_PROGRESS and ops.unchanged(request, state):
        reporter.step(spec.name, f"{image.stack}: template equals the deployed one")
        return ImagePrepared(spec, image, factory, ops, request, state, None)
    reporter.step(spec.name, f"{image.stack}: creating a change set")
    change_set = ops.create_change_set(request, state)
    return ImagePrepared(spec, image, factory, ops, request, state, change_set)


def execute_image(prepared: ImagePrepared, reporter: Reporter) -> ImageResult:
    """Run the change set (if any), then seed the parameter if it does not exist yet."""
    env, image = prepared.spec.name, prepared.image
    outputs: dict[str, str] = dict(prepared.state.outputs) if prepared.state else {}
    outcome = "no changes"
    if prepared.change_set is not None:
        reporter.begin(env, len(prepared.change_set.changes) + 1)
        final = prepared.ops.execute(
            prepared.change_set, image.stack, lambda e: reporter.event(env, e)
        )
        outputs = dict(final.outputs)
        outcome = "created" if prepared.change_set.change_type == "CREATE" else "updated"
    ssm = prepared.factory.client("ssm")
    ami_id, seeded = seed_parameter(ssm, prepared.spec, image)
    verb = "created with the parent AMI" if seeded else "holds"
    reporter.step(env, f"{image.parameter}: {verb} {ami_id}")
    return ImageResult(image.stack, outcome, image.parameter, ami_id, seeded, outputs)


def cancel_image(prepared: ImagePrepared) -> None:
    if prepared.change_set is not None:
        prepared.ops.delete_change_set(prepared.change_set, prepared.image.stack)


def parent_ami(ssm: Any, spec: FleetSpec) -> str:
    """The AMI id ``instances.image`` names today."""
    base = spec.instances.image
    if base.ami_id:
        return base.ami_id
    name = str(base.ssm_parameter)
    found = aws_call(lambda: ssm.get_parameter(Name=name), f"read the parent image {name}")
    return str(found["Parameter"]["Value"])


def seed_parameter(ssm: Any, spec: FleetSpec, image: BakedImageSection) -> tuple[str, bool]:
    """(AMI id in the parameter, whether it was created now). Never overwrites: after the
    first bake the parameter belongs to Image Builder."""
    try:
        current = ssm.get_parameter(Name=image.parameter)["Parameter"]["Value"]
        return str(current), False
    except Exception as exc:
        if error_code(exc) != "ParameterNotFound":
            raise translate(exc, f"read {image.parameter}") from exc
    ami_id = parent_ami(ssm, spec)
    aws_call(
        lambda: ssm.put_parameter(
            Name=image.parameter,
            Value=ami_id,
            Type="String",
            DataType="aws:ec2:image",
            Overwrite=False,
            Description=f"Newest AMI of runnerfleet image {image.name} (Image Builder)",
        ),
        f"create {image.parameter}",
    )
    return ami_id, True


def start_bake(factory: ClientFactory, pipeline_arn: str) -> str:
    """Start the pipeline now; returns the ARN of the image being built."""
    if factory.target.emulated:
        raise SandboxError(NOT_EMULATED, hint="bake on real AWS: drop --sandbox")
    client = factory.client("imagebuilder")
    started = aws_call(
        lambda: client.start_image_pipeline_execution(imagePipelineArn=pipeline_arn),
        "start the image pipeline",
    )
    return str(started["imageBuildVersionArn"])
