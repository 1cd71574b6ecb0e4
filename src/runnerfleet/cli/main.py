"""The ``runnerfleet`` command: parse, call the library, render. No logic lives here.

Each command group lives in a module of its own, imported when its command runs
(``runnerfleet.cli.lazy``: ``--help`` lists the commands without importing them).
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
from runnerfleet.cli.lazy import LazyGroup
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
    cls=LazyGroup,  # commands are imported when they run (cli/lazy.py)
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
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


def main(argv: list[str] | None = None) -> int:
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
    for line in getattr(exc, "events", []):  # a failed stack operation: the failing events
        err.print(f"  [red]{escape(redact(line))}[/]")
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
