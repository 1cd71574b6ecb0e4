"""The ``runnerfleet`` command: parse, call the library, render. No logic lives here.

Each command group lives in a module of its own and registers itself on ``app``.
Errors are caught in exactly one place, ``main``, and mapped to the documented exit codes.
Anything unforeseen becomes one line and exit 1; ``--debug`` shows its traceback instead.
Every message passes the token screen on its way out.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.markup import escape
from typer._click.exceptions import ClickException  # typer vendors click since 0.29

from runnerfleet import __version__
from runnerfleet.cli.console import err
from runnerfleet.errors import ExitCode, RunnerfleetError
from runnerfleet.tokenscreen import redact

DEBUG_ENV = "RUNNERFLEET_DEBUG"

app = typer.Typer(
    name="runnerfleet",
    help=(
        "Deploy, scale and operate GitLab Runner fleets on Amazon EC2.\n\n"
        "One environment file per environment becomes one CloudFormation stack. "
        "Start with `runnerfleet validate examples/dev.yaml`, then "
        "`runnerfleet deploy examples/dev.yaml --sandbox` (no AWS account needed)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runnerfleet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    if debug:
        os.environ[DEBUG_ENV] = "1"


def _register_commands() -> None:
    """Import every command module; each one adds its commands to ``app``."""
    from runnerfleet.cli import commands_envfile, commands_runners

    commands_envfile.register(app)
    commands_runners.register(app)
    from runnerfleet.cli import commands_deploy, commands_sandbox

    commands_deploy.register(app)
    commands_sandbox.register(app)
    from runnerfleet.cli import commands_ops

    commands_ops.register(app)
    from runnerfleet.cli import commands_access

    commands_access.register(app)
    from runnerfleet.cli import commands_sim

    commands_sim.register(app)
    from runnerfleet.cli import commands_synth

    commands_synth.register(app)
    from runnerfleet.cli import commands_autoscale

    commands_autoscale.register(app)
    from runnerfleet.cli import commands_fleet

    commands_fleet.register(app)
    from runnerfleet.cli import commands_why

    commands_why.register(app)
    from runnerfleet.cli import commands_demo

    commands_demo.register(app)
    from runnerfleet.cli import commands_image

    commands_image.register(app)


_registered: list[bool] = []


def main(argv: list[str] | None = None) -> int:
    if not _registered:  # main() may run several times in one process (the demo, tests)
        _register_commands()
        _registered.append(True)
    debug = os.environ.get(DEBUG_ENV)
    try:
        return _run(argv)
    finally:  # --debug of one call must not leak into the next one in this process
        if debug is None:
            os.environ.pop(DEBUG_ENV, None)


def _run(argv: list[str] | None) -> int:
    try:
        result = app(args=argv, standalone_mode=False, prog_name="runnerfleet")
    except typer.Exit as exc:
        return int(exc.exit_code)
    except ClickException as exc:
        exc.show()
        return int(ExitCode.INVALID_INPUT)
    except (typer.Abort, KeyboardInterrupt):
        err.print("[red]aborted[/]")
        return int(ExitCode.ABORTED)
    except RunnerfleetError as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        render_error(exc)
        return int(exc.exit_code)
    except Exception as exc:  # the one catch-all: no user sees a traceback without asking
        if os.environ.get(DEBUG_ENV):
            raise
        render_unexpected(exc)
        return int(ExitCode.ERROR)
    return int(result) if isinstance(result, int) else 0


def render_error(exc: RunnerfleetError) -> None:
    """Messages are plain text (key paths contain brackets), so they are escaped for rich."""
    err.print(f"[bold red]error:[/] {escape(redact(exc.message))}")
    if exc.hint:
        err.print(f"[bold]fix:[/] {escape(redact(exc.hint))}")


def render_unexpected(exc: Exception) -> None:
    detail = " ".join(str(exc).split())[:200]
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    err.print(f"[bold red]error:[/] unexpected {escape(redact(what))}")
    err.print("[bold]fix:[/] run again with --debug to see the traceback, and report it")


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
