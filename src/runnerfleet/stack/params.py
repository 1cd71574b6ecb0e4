"""Template parameters: only what changes between deploys without a template change.

* ``ImageId``: the AMI, or the SSM parameter that names the latest one (resolved by
  CloudFormation at each deploy): the public Amazon Linux one, or, with an ``image:`` section,
  the baked image's parameter that Image Builder updates after every build;
* ``CodeKey``: the S3 key of the Lambda artefact, content-addressed by the deploy engine, so
  unchanged code keeps its key and no function is updated.

Never a secret: tokens stay in SSM SecureString parameters that the instances read at boot.
"""

from __future__ import annotations

from runnerfleet.envfile.models import FleetSpec
from runnerfleet.stack.cfn import Json

CODE_KEY = "CodeKey"
IMAGE_ID = "ImageId"
SSM_IMAGE_TYPE = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"


def image_value(spec: FleetSpec) -> str:
    if spec.image is not None:
        return spec.image.parameter
    image = spec.instances.image
    return image.ami_id or image.ssm_parameter or ""


def parameters(spec: FleetSpec) -> dict[str, Json]:
    fixed = spec.image is None and spec.instances.image.ami_id is not None
    return {
        IMAGE_ID: {
            "Type": "AWS::EC2::Image::Id" if fixed else SSM_IMAGE_TYPE,
            "Default": image_value(spec),
            "Description": "AMI of the runners, or the SSM parameter that names it",
        },
        CODE_KEY: {
            "Type": "String",
            "MinLength": 1,
            "AllowedPattern": r"^[A-Za-z0-9!_.*'()/-]+\.zip$",
            "Description": f"S3 key of the Lambda artefact in {spec.artifacts.bucket} "
            "(content-addressed; set by runnerfleet deploy)",
        },
    }


def parameter_values(spec: FleetSpec, code_key: str) -> dict[str, str]:
    """The values a change set passes, given the artefact's key from the deploy engine."""
    return {IMAGE_ID: image_value(spec), CODE_KEY: code_key}
