"""The README's commands run: the offline ones for real against a temp copy of the repository's
examples, every other one at least as far as its --help. A new README command must be
classified here, so a quick start never again names a file nobody ships."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from runnerfleet.cli.main import main
from tests.conftest import REPO

README = (REPO / "README.md").read_text("utf-8")
# Commands that need no AWS account and no GitLab: the test runs them.
OFFLINE = {"validate", "schema", "synth", "import-properties", "simulate", "tune", "trace"}
# Commands that talk to AWS or GitLab: the test runs their --help only.
ONLINE = {"doctor", "runners", "deploy", "diff", "status", "outputs", "relaunch", "terminate",
          "autoscale", "logs", "destroy", "access", "sandbox", "fleet", "why", "image"}  # fmt: skip
NOT_RUN_HERE = {"make", "source", "aws"}  # the build itself, the shell, the AWS CLI


def shell_commands(text: str) -> list[list[str]]:
    """Every command of the ```sh blocks: continuations joined, comments dropped, && split."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words:
                    commands.append(words)
    return commands


def table_commands(text: str) -> list[list[str]]:
    """``runnerfleet a b / c`` in the commands table, as [a, b] and [a, c]."""
    found = []
    for snippet in re.findall(r"`(runnerfleet [^`]+)`", text):
        head, *alternatives = [part.strip() for part in snippet.split(" / ")]
        words = [w for w in head.split()[1:] if re.fullmatch(r"[a-z][a-z-]*", w)]
        if not words:  # an option of the command itself, such as `runnerfleet --debug ...`
            continue
        found.append(words)
        found.extend([*words[:-1], alt.split()[0]] for alt in alternatives)
    return [list(words) for words in dict.fromkeys(tuple(w) for w in found)]


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_readme_shell_command_is_classified() -> None:
    for words in shell_commands(README):
        if words[0] == "runnerfleet":
            assert words[1] in OFFLINE | ONLINE, f"classify README command {words}"
        else:
            assert words[0] in NOT_RUN_HERE | {"mkdir", "cp"}, f"classify README command {words}"


def test_readme_offline_commands_run_against_a_copy(copy: Path) -> None:
    ran = []
    for words in shell_commands(README):
        if words[0] in ("mkdir", "cp"):
            subprocess.run(words, cwd=copy, check=True, timeout=30)
        elif words[0] == "runnerfleet" and words[1] in OFFLINE:
            assert main(words[1:]) == 0, f"README command failed: {shlex.join(words)}"
            ran.append(words[1])
    assert "validate" in ran  # the quick start's policy check, with the shipped policy file


@pytest.mark.parametrize("words", table_commands(README), ids=" ".join)
def test_every_readme_command_has_working_help(words: list[str]) -> None:
    assert words and words[0] in OFFLINE | ONLINE
    assert main([*words, "--help"]) == 0


def test_the_readme_environment_file_sample_validates(copy: Path) -> None:
    [sample] = re.findall(r"## Environment files\n\n```yaml\n(.*?)```", README, re.S)
    assert yaml.safe_load(sample)["extends"] == "base.yaml"
    (copy / "examples" / "readme-sample.yaml").write_text(sample, encoding="utf-8")
    assert main(["validate", "examples/readme-sample.yaml"]) == 0
