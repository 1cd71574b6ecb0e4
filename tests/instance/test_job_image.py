"""Our own lint of docker/job-image/Dockerfile (no Docker engine here, hadolint is not packaged).

It checks what matters for a maintained job image: pinned bases and versions, a Docker CLI
that is not end-of-life, AWS CLI v2 with its signature checked, a non-root default user.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO

DOCKERFILE = REPO / "docker" / "job-image" / "Dockerfile"
DOCS = REPO / "docs" / "job-image.md"
OLDEST_SUPPORTED_DOCKER = 28  # majors below this no longer get fixes upstream


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _args() -> dict[str, str]:
    out = {}
    for keyword, rest in _instructions():
        if keyword == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            out[name] = value
    return out


def _resolve(text: str) -> str:
    args = _args()
    return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), text)


def test_every_base_image_is_pinned() -> None:
    bases = [_resolve(rest.split()[0]) for kw, rest in _instructions() if kw == "FROM"]
    assert len(bases) == 2
    for base in bases:
        tag = base.partition(":")[2]
        assert tag and tag != "latest", base
        assert re.match(r"^\d+(\.\d+)+", tag), f"{base}: pin a numbered release"


def test_docker_cli_is_current() -> None:
    version = _args()["DOCKER_VERSION"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert int(version.split(".")[0]) >= OLDEST_SUPPORTED_DOCKER


def test_aws_cli_v2_pinned_and_signature_checked() -> None:
    args = _args()
    assert re.fullmatch(r"2\.\d+\.\d+", args["AWSCLI_VERSION"])
    assert re.fullmatch(r"[0-9A-F]{40}", args["AWSCLI_KEY_FINGERPRINT"])
    runs = " ".join(rest for kw, rest in _instructions() if kw == "RUN")
    assert "awscli-exe-linux-${arch}-${AWSCLI_VERSION}.zip" in runs
    assert "gpg --batch --verify awscliv2.sig awscliv2.zip" in runs
    assert "pip install awscli" not in runs and "pip3 install awscli" not in runs


def test_runs_as_a_non_root_user() -> None:
    users = [rest for kw, rest in _instructions() if kw == "USER"]
    assert users and users[-1] not in ("root", "0")


@pytest.mark.parametrize(
    "rule",
    [
        "apt-get install -y --no-install-recommends",
        "rm -rf /var/lib/apt/lists/*",
    ],
)
def test_lean_apt_layers(rule: str) -> None:
    runs = " ".join(rest for kw, rest in _instructions() if kw == "RUN")
    assert rule in runs


def test_shell_fails_on_pipe_errors_and_no_remote_add() -> None:
    instructions = _instructions()
    assert ("SHELL", '["/bin/bash", "-euo", "pipefail", "-c"]') in instructions
    assert not [rest for kw, rest in instructions if kw == "ADD" and "://" in rest]


def test_docs_cover_build_and_push() -> None:
    text = DOCS.read_text()
    for needle in ("docker buildx build", "registry.gitlab.com", "docker login", "AWSCLI_VERSION"):
        assert needle in text
