"""Use case: the image stack through the shared change-set flow; its parameter; a bake.

``deploy_image`` runs ``runnerfleet.ops.changeset`` for the image stack (review, the caller's
preview and confirmation, execute with live events), then makes sure the image's SSM parameter
exists: Image Builder writes it after each bake, and until the first one it holds the parent
AMI, so that fleets can deploy (and boot the cold way) right away. ``start_bake`` starts a
pipeline run now instead of at the next scheduled one.

A target without Image Builder (the sandbox's emulator) still deploys the stack (its Image
Builder resources are accepted and not created) and seeds the parameter; nothing is baked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runnerfleet.aws.awscall import aws_call, error_code, translate
from runnerfleet.aws.cloudformation import ChangeSet, StackRequest
from runnerfleet.envfile.image import BakedImageSection
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SandboxError
from runnerfleet.ops import changeset
from runnerfleet.ops.deploy import Settings, stack_operations, stack_tags
from runnerfleet.ops.ports import Reporter
from runnerfleet.ops.target import Target
from runnerfleet.stack.image import require_image, synthesize_image

NOT_EMULATED = (
    "EC2 Image Builder is not emulated: the image stack deploys through change sets, its "
    "Image Builder resources are accepted but not created, and no image is baked; the "
    "parameter holds the parent AMI, so sandbox fleets boot the cold way"
)


@dataclass(frozen=True)
class ImageResult:
    stack: str
    outcome: str  # created, updated, no changes
    parameter: str
    ami_id: str
    seeded: bool  # the parameter was created now, with the parent AMI
    outputs: dict[str, str]


def deploy_image(
    spec: FleetSpec,
    target: Target,
    *,
    reporter: Reporter,
    confirm: Callable[[ChangeSet], bool],
    settings: Settings | None = None,
) -> ImageResult:
    """Review, confirm (the caller previews), execute; then seed the parameter once."""
    image, settings = require_image(spec), settings or Settings()
    env = spec.name
    if not target.capabilities.image_builder:
        reporter.step(env, NOT_EMULATED)
    request = StackRequest(image.stack, synthesize_image(spec), {}, stack_tags(spec))
    stacks = stack_operations(target, settings)
    state = changeset.usable_state(
        stacks, image.stack, env=env, reporter=reporter, offer_delete=settings.offer_delete
    )
    done = changeset.deploy_stack(
        stacks,
        request,
        state,
        env=env,
        reporter=reporter,
        confirm=confirm,
        how_to_apply="rerun `runnerfleet image deploy` and answer y (or pass --yes)",
    )
    ami_id, seeded = seed_parameter(target.clients.client("ssm"), spec, image)
    verb = "created with the parent AMI" if seeded else "holds"
    reporter.step(env, f"{image.parameter}: {verb} {ami_id}")
    outputs = dict(done.state.outputs) if done.state else {}
    return ImageResult(image.stack, done.outcome, image.parameter, ami_id, seeded, outputs)


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


def start_bake(target: Target, pipeline_arn: str) -> str:
    """Start the pipeline now; returns the ARN of the image being built."""
    if not target.capabilities.image_builder:
        raise SandboxError(NOT_EMULATED, hint="bake on real AWS: drop --sandbox")
    client = target.clients.client("imagebuilder")
    started = aws_call(
        lambda: client.start_image_pipeline_execution(imagePipelineArn=pipeline_arn),
        "start the image pipeline",
    )
    return str(started["imageBuildVersionArn"])
