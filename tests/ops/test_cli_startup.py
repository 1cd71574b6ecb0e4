"""Start-up: ``runnerfleet --help`` imports no command module and none of the heavy libraries;
the command table says the same as the commands (every one listed, the same summaries); every
``COMMAND --help`` imports no AWS, GitLab, HTTP or crypto library and no environment-file
model (a command imports those when it runs).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from runnerfleet.cli import main as cli_main
from runnerfleet.cli.lazy import COMMANDS, LazyGroup, load
from tests.conftest import REPO

pytestmark = pytest.mark.unit

HEAVY = ("boto3", "botocore", "pydantic", "cryptography", "gitlab", "httpx", "requests")
MODELS = "runnerfleet.envfile.models"  # the environment file's pydantic models
# typer (>= 0.29) converts parameters with pydantic as soon as it builds a command's help
COMMAND_HEAVY = (*(h for h in HEAVY if h != "pydantic"), MODELS)


def imported_after(argv: list[str]) -> set[str]:
    """The modules a fresh interpreter has loaded after ``runnerfleet ARGV``."""
    code = (
        "import sys\n"
        "from runnerfleet.cli.main import main\n"
        f"code = main({argv!r})\n"
        "print(' '.join(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split("\n")[-2].split())


def heavy_in(modules: set[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in heavy or m in heavy)


def test_the_root_help_imports_no_command_module_and_no_heavy_library() -> None:
    modules = imported_after(["--help"])
    assert heavy_in(modules) == []
    assert not [m for m in modules if m.startswith("runnerfleet.cli.commands_")]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_imports_no_heavy_library(name: str) -> None:
    assert heavy_in(imported_after([name, "--help"]), COMMAND_HEAVY) == []


def test_the_table_lists_every_command_with_its_own_summary() -> None:
    root = typer.main.get_command(cli_main.app)
    assert isinstance(root, LazyGroup)
    context = typer.Context(root)
    registered: set[str] = set()
    for name, (modules, summary) in COMMANDS.items():
        real = root.get_command(context, name)
        assert real is not None and real.name == name, name
        assert real.get_short_help_str(300) == summary, name
        registered |= set(load(modules))
    assert registered == set(COMMANDS)  # no module registers a command the table misses


def complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    env["_RUNNERFLEET_COMPLETE"] = "complete_bash"
    done = subprocess.run(
        [sys.executable, "-m", "runnerfleet.cli.main"],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_shell_completion_knows_the_lazy_commands_and_their_options() -> None:
    assert complete("runnerfleet fl", 1) == ["fleet"]
    assert "--watch" in complete("runnerfleet fleet --", 2)
