"""The image stack: EC2 Image Builder bakes the runners' AMI and publishes its id in SSM.

Pure and deterministic (same spec, same bytes), like the fleet template. One stack per image
(``runnerfleet-image-<name>``); every environment that names the image boots from its
parameter. What it holds:

* the bake component (``image_bake``), a recipe on ``instances.image`` as the parent, with an
  encrypted root volume, an infrastructure configuration (IMDSv2 only, a private subnet, an
  egress-only security group, terminate on failure) and a pipeline with a monthly schedule;
* a distribution that writes the newest AMI id into the image's SSM parameter after each bake.
  The parameter is not a stack resource: a stack update would reset it to its template value
  (the parent AMI) and undo the last bake. ``runnerfleet image deploy`` creates it once, with the
  parent AMI, so that a fleet deployed before the first bake boots (the cold way);
* the build and pipeline logs in CloudWatch log groups of our own, with the environment's
  retention and key;
* two roles: the build instance's (inline, scoped to this stack) and the execution role Image
  Builder needs to write an SSM parameter (see ``image_iam``).
"""

from __future__ import annotations

from typing import Any

from runnerfleet.envfile.image import BakedImageSection
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SpecError
from runnerfleet.stack import image_iam
from runnerfleet.stack.cfn import Json, egress_only_group, getatt, ref, sub
from runnerfleet.stack.functions import log_group
from runnerfleet.stack.image_bake import bake_settings, content_version, render_component
from runnerfleet.stack.launch import ROOT_DEVICE

IMAGE_LOG_GROUP = "/aws/imagebuilder/${AWS::StackName}"
PIPELINE_LOG_GROUP = "/aws/imagebuilder/pipeline/${AWS::StackName}"
TEST_TIMEOUT_MINUTES = 60  # the least Image Builder accepts
AUTO_DISABLE_AFTER = 3  # failed scheduled builds in a row before the pipeline pauses itself


def require_image(spec: FleetSpec) -> BakedImageSection:
    if spec.image is None:
        raise SpecError(
            f"environment {spec.name} has no image: section, so there is nothing to bake",
            hint="add an image: section (docs/image.md), usually in the base file",
        )
    return spec.image


def synthesize_image(spec: FleetSpec) -> dict[str, Any]:
    """The image stack's template (no parameters: everything comes from the spec)."""
    image = require_image(spec)
    resources = _resources(spec, image)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"runnerfleet: baked runner image {image.name} (EC2 Image Builder)",
        "Resources": resources,
        "Outputs": _outputs(image),
    }


def _resources(spec: FleetSpec, image: BakedImageSection) -> dict[str, Json]:
    out: dict[str, Json] = {
        "ImageLogGroup": log_group(spec, sub(IMAGE_LOG_GROUP)),
        "PipelineLogGroup": log_group(spec, sub(PIPELINE_LOG_GROUP)),
        "BuildSecurityGroup": _security_group(spec, image),
    }
    out.update(image_iam.roles(spec, image))
    component = render_component(bake_settings(spec, image))
    component_version = content_version(component)
    out["BakeComponent"] = _component(spec, component, component_version)
    out["Recipe"] = _recipe(spec, image, component_version)
    out["Infrastructure"] = _infrastructure(spec, image)
    out["Distribution"] = _distribution(spec, image)
    out["Pipeline"] = _pipeline(spec, image)
    return out


def _tags(spec: FleetSpec, image: BakedImageSection) -> dict[str, str]:
    return {**spec.tags, "runnerfleet:image": image.name}


def _security_group(spec: FleetSpec, image: BakedImageSection) -> Json:
    """Egress only: packages, the runner download and registries over HTTPS (and any
    registry port a pre-pulled image names). Image Builder drives the instance through SSM,
    which the instance reaches outbound too; nothing connects in."""
    return egress_only_group(
        spec.network.vpc_id,
        "runnerfleet image build instances: egress only",
        sorted({443, *image_iam.registry_ports(image)}),
        "Packages, downloads, registries and AWS APIs on {port}",
        {**_tags(spec, image), "Name": f"{image.stack}-build"},
    )


def _builder(kind: str, spec: FleetSpec, description: str, props: Json) -> Json:
    """An Image Builder resource named after the stack, described and tagged."""
    return {
        "Type": f"AWS::ImageBuilder::{kind}",
        "Properties": {
            "Name": ref("AWS::StackName"),
            "Description": description,
            **props,
            "Tags": dict(spec.tags),
        },
    }


def _component(spec: FleetSpec, data: str, version: str) -> Json:
    return _builder(
        "Component",
        spec,
        "Docker, agents, the pinned gitlab-runner and job images",
        {
            "Name": sub("${AWS::StackName}-bake"),
            "Platform": "Linux",
            "Version": version,
            "Data": data,
        },
    )


def _volume(image: BakedImageSection) -> Json:
    ebs: Json = {
        "DeleteOnTermination": True,
        "Encrypted": True,
        "VolumeSize": image.volume_size_gb,
        "VolumeType": "gp3",
    }
    if image.kms_key_id:
        ebs["KmsKeyId"] = image.kms_key_id
    return {"DeviceName": ROOT_DEVICE, "Ebs": ebs}


def parent_image(spec: FleetSpec) -> str:
    """``instances.image`` as Image Builder names a parent: an AMI id or ``ssm:<name>``.
    An SSM parent is resolved at every build, so each monthly bake starts from the newest."""
    base = spec.instances.image
    return base.ami_id or f"ssm:{base.ssm_parameter}"


def _recipe(spec: FleetSpec, image: BakedImageSection, component_version: str) -> Json:
    volume, parent = _volume(image), parent_image(spec)
    props: Json = {
        # A recipe is immutable: any change of what it holds gets a new version.
        "Version": content_version(parent, component_version, repr(volume)),
        "ParentImage": parent,
        "Components": [{"ComponentArn": ref("BakeComponent")}],
        "BlockDeviceMappings": [volume],
        "AdditionalInstanceConfiguration": {
            "SystemsManagerAgent": {"UninstallAfterBuild": "ssm" not in image.agents}
        },
        "AmiTags": _tags(spec, image),
    }
    return _builder("ImageRecipe", spec, f"runnerfleet runner image {image.name}", props)


def _infrastructure(spec: FleetSpec, image: BakedImageSection) -> Json:
    props: Json = {
        "InstanceProfileName": ref("BuildInstanceProfile"),
        "InstanceTypes": [image.build_instance_type],
        "SubnetId": spec.network.subnet_ids[0],
        "SecurityGroupIds": [getatt("BuildSecurityGroup", "GroupId")],
        "InstanceMetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
        "TerminateInstanceOnFailure": True,
        "ResourceTags": _tags(spec, image),
    }
    description = "Build and test instances of the runner image"
    return _builder("InfrastructureConfiguration", spec, description, props)


def _distribution(spec: FleetSpec, image: BakedImageSection) -> Json:
    region: Json = {
        "Region": ref("AWS::Region"),
        "AmiDistributionConfiguration": {
            "Name": f"runnerfleet-{image.name}-{{{{imagebuilder:buildDate}}}}",
            "AmiTags": _tags(spec, image),
        },
        "SsmParameterConfigurations": [
            {"ParameterName": image.parameter, "DataType": "aws:ec2:image"}
        ],
    }
    description = "The AMI in this region; its id goes to the image's SSM parameter"
    return _builder("DistributionConfiguration", spec, description, {"Distributions": [region]})


def _pipeline(spec: FleetSpec, image: BakedImageSection) -> Json:
    props: Json = {
        "ImageRecipeArn": ref("Recipe"),
        "InfrastructureConfigurationArn": ref("Infrastructure"),
        "DistributionConfigurationArn": ref("Distribution"),
        "ExecutionRole": getatt("ExecutionRole", "Arn"),
        "Status": "ENABLED",
        "EnhancedImageMetadataEnabled": True,
        "ImageTestsConfiguration": {
            "ImageTestsEnabled": True,
            "TimeoutMinutes": TEST_TIMEOUT_MINUTES,
        },
        "Schedule": {
            "ScheduleExpression": image.schedule,
            # Monthly means monthly: OS patches are the point, not only new components.
            "PipelineExecutionStartCondition": "EXPRESSION_MATCH_ONLY",
            "AutoDisablePolicy": {"FailureCount": AUTO_DISABLE_AFTER},
        },
        "LoggingConfiguration": {
            "ImageLogGroupName": ref("ImageLogGroup"),
            "PipelineLogGroupName": ref("PipelineLogGroup"),
        },
    }
    description = f"Bakes runner image {image.name} on its schedule"
    return _builder("ImagePipeline", spec, description, props)


_OUTPUTS: dict[str, tuple[str, str]] = {
    "PipelineArn": ("Pipeline", "Image pipeline (start a build: runnerfleet image deploy --build)"),
    "ImageLogGroupName": ("ImageLogGroup", "Build and test logs of each bake"),
    "PipelineLogGroupName": ("PipelineLogGroup", "Pipeline execution logs"),
    "BuildRoleName": ("BuildRole", "Role of the build and test instances"),
}


def _outputs(image: BakedImageSection) -> dict[str, Json]:
    outputs = {
        key: {"Description": text, "Value": ref(logical)}
        for key, (logical, text) in _OUTPUTS.items()
    }
    outputs["ImageParameterName"] = {
        "Description": "SSM parameter holding the newest AMI id (the fleet's ImageId)",
        "Value": image.parameter,
    }
    return outputs
