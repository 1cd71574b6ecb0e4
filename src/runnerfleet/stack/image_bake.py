"""What Image Builder runs on the build instance: the bake script and its component document.

Pure and deterministic. The script (``stack/scripts/image-bake.sh.tmpl``) installs what the
bootstrap installs at boot, pre-pulls job images and writes the manifest
(``IMAGE_MANIFEST``) that tells the bootstrap it runs on a baked image. The component document
writes the script to ``/usr/local/sbin/runnerfleet-image`` and runs ``bake`` in the build
phase, ``check`` in the validate phase and again on the test instance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import yaml

from runnerfleet.envfile.image import BakedImageSection, baked_runner
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SpecError
from runnerfleet.stack.instance_settings import DEFAULT_DOWNLOAD_URL
from runnerfleet.stack.shell import array, assign, fill, heredoc, load_template, shared_lib

IMAGE_MANIFEST = "/etc/runnerfleet/image.env"  # the bootstrap reads it (bootstrap.sh.tmpl)
SCRIPT_PATH = "/usr/local/sbin/runnerfleet-image"
COMPONENT_DATA_LIMIT = 16000  # characters Image Builder accepts as inline component data
AGENT_PACKAGES = {"cloudwatch": "amazon-cloudwatch-agent", "ssm": "amazon-ssm-agent"}
AGENT_UNITS = {"ssm": "amazon-ssm-agent"}  # the CloudWatch agent starts from the bootstrap


@dataclass(frozen=True)
class BakeSettings:
    image_name: str
    runner_version: str
    runner_sha256: str
    docker: bool
    agents: tuple[str, ...]
    pre_pull: tuple[str, ...]
    os_patches: bool
    runner_arch: str = "amd64"
    download_url: str = DEFAULT_DOWNLOAD_URL

    @property
    def runner_url(self) -> str:
        return self.download_url.format(version=self.runner_version, arch=self.runner_arch)

    @property
    def packages(self) -> tuple[str, ...]:
        return (*(["docker"] if self.docker else []), *(AGENT_PACKAGES[a] for a in self.agents))

    @property
    def units(self) -> tuple[str, ...]:
        return (
            *(["docker"] if self.docker else []),
            *(AGENT_UNITS[a] for a in self.agents if a in AGENT_UNITS),
        )


def bake_settings(spec: FleetSpec, image: BakedImageSection) -> BakeSettings:
    version, digest = baked_runner(spec, image)
    if digest is None:  # the model refuses this already; kept for specs built in code
        raise SpecError("the baked gitlab-runner has no checksum", hint="set runner.sha256")
    return BakeSettings(
        image_name=image.name,
        runner_version=version,
        runner_sha256=digest,
        docker=image.docker,
        agents=image.agents,
        pre_pull=image.pre_pull,
        os_patches=image.os_patches,
    )


def render_bake_script(settings: BakeSettings) -> str:
    values = [
        assign("IMAGE_NAME", settings.image_name),
        assign("RUNNER_VERSION", settings.runner_version),
        assign("RUNNER_SHA256", settings.runner_sha256),
        assign("RUNNER_URL", settings.runner_url),
        assign("OS_PATCHES", settings.os_patches),
        assign("MANIFEST_PATH", IMAGE_MANIFEST),
        array("PACKAGES", settings.packages),
        array("ENABLE", settings.units),
        array("PRE_PULL", settings.pre_pull),
    ]
    return fill(
        load_template("image-bake.sh.tmpl"),
        {"SETTINGS": "\n".join(values), "LIB": shared_lib()},
    )


class _Literal(str):
    """A string YAML writes as a ``|`` block, so the script stays readable in the console."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def _bash_step(name: str, commands: list[str]) -> dict[str, Any]:
    return {"name": name, "action": "ExecuteBash", "inputs": {"commands": commands}}


def render_component(settings: BakeSettings) -> str:
    """The AWSTOE document (YAML, schema 1.0); raises when it exceeds the inline limit."""
    install = heredoc(f"cat >{SCRIPT_PATH}", render_bake_script(settings), "RUNNERFLEET_IMAGE")
    write_and_bake = _Literal(f"{install}\nchmod 0700 {SCRIPT_PATH}\n{SCRIPT_PATH} bake\n")
    document = {
        "name": f"runnerfleet-{settings.image_name}",
        "description": "runnerfleet runner image: docker, agents, gitlab-runner, job images",
        "schemaVersion": 1.0,
        "phases": [
            {"name": "build", "steps": [_bash_step("Bake", [write_and_bake])]},
            {"name": "validate", "steps": [_bash_step("Check", [f"{SCRIPT_PATH} check"])]},
            {"name": "test", "steps": [_bash_step("CheckBaked", [f"{SCRIPT_PATH} check"])]},
        ],
    }
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000)
    if len(text) > COMPONENT_DATA_LIMIT:
        raise SpecError(
            f"the image component would be {len(text)} characters, over Image Builder's "
            f"{COMPONENT_DATA_LIMIT}",
            hint="pre-pull fewer job images in image.pre_pull",
        )
    return text


def content_version(*parts: str) -> str:
    """A semantic version derived from content: Image Builder versions are immutable, so a
    changed component or recipe needs a new version, and the same content keeps its own."""
    digest = int(hashlib.sha256("\0".join(parts).encode()).hexdigest()[:7], 16)
    return f"1.0.{digest}"
