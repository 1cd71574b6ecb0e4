"""``runnerfleet sandbox demo``: the seed's tasks, walked on a deployed environment in the twin.

Nothing runs in-process: the demo starts a twin of its own (private ``RUNNERFLEET_HOME``, the
EventBridge schedule at a clock factor), then acts only as a user would, through the CLI, the
AWS CLI v2 and GitLab's REST API: ``deploy`` (the real deploy engine), pipelines through
``POST /projects/:id/pipeline`` that the deployed autoscaler Lambda scales out for and in
after, the instance type updated (a rolling replacement through the drain), one busy instance
terminated with the seed's command, a project added, a relaunch, ``destroy``. The report's
figures are read from the deployed group and the stand-in (``demo_twin``). Everything the
demo started is stopped by PID, on Ctrl-C and failures too.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runnerfleet.errors import SandboxError
from runnerfleet.sandbox import emulator
from runnerfleet.sandbox.demo_env import TIMING_NOTE, write_files
from runnerfleet.sandbox.demo_figures import gitlab_figures, group_figures
from runnerfleet.sandbox.demo_report import DemoReport
from runnerfleet.sandbox.demo_steps import Run, destroy, walk_the_tasks
from runnerfleet.sandbox.demo_twin import GroupWatch, Say, TwinClients
from runnerfleet.sandbox.state import SandboxState


@dataclass(frozen=True)
class DemoOptions:
    envfile: Path = Path("examples/dev.yaml")
    schedule_factor: float = 12.0  # rate(1 minute) every 5 s
    jobs: int = 8  # the first pipeline: two instances' worth at concurrent 4
    job_seconds: int = 15
    time_limit_s: float = 180.0


def run_demo(options: DemoOptions, say: Say) -> DemoReport:
    """Walk the seed's tasks on a twin of the demo's own; raises SandboxError on a failure."""
    started = time.monotonic()
    if not options.envfile.is_file():
        raise SandboxError(
            f"{options.envfile}: no such environment file",
            hint="run from the project directory or pass --env FILE",
        )
    with _private_home() as home:
        files = write_files(options.envfile, home)
        with _twin(options, say, home) as state:
            clients = TwinClients(state)
            try:
                run = Run(
                    options.job_seconds, options.jobs, files, clients, state, home, say, started
                )
                run.deadline = started + options.time_limit_s
                return _walk(run, state, options)
            finally:
                clients.close()


def _walk(run: Run, state: SandboxState, options: DemoOptions) -> DemoReport:
    run.step(
        f"deploy {options.envfile} --sandbox (as {run.files.base.name}, which extends it: "
        f"{TIMING_NOTE})"
    )
    run.cli("deploy", str(run.files.base), "--sandbox", "--yes")
    run.group = run.clients.group_of(run.files.stack)
    run.say(f"    stack {run.files.stack}, group {run.group}, GitLab {state.gitlab_url}")
    watch = GroupWatch(run.clients, run.group, run.say).start()
    try:
        walk_the_tasks(run)
        group = group_figures(run, watch)
    finally:
        watch.stop()
    destroy(run)
    gitlab = gitlab_figures(run)
    return DemoReport(
        stack=run.files.stack,
        group=group,
        gitlab=gitlab,
        walk=run.require_walk(),
        elapsed_s=time.monotonic() - run.started,
        time_limit_s=options.time_limit_s,
    )


@contextlib.contextmanager
def _private_home() -> Iterator[Path]:
    """The demo's twin and files live apart from a sandbox the user may have running."""
    before = os.environ.get("RUNNERFLEET_HOME")
    with tempfile.TemporaryDirectory(prefix="runnerfleet-demo-") as home:
        os.environ["RUNNERFLEET_HOME"] = home
        try:
            yield Path(home)
        finally:
            if before is None:
                os.environ.pop("RUNNERFLEET_HOME", None)
            else:
                os.environ["RUNNERFLEET_HOME"] = before


@contextlib.contextmanager
def _twin(options: DemoOptions, say: Say, home: Path) -> Iterator[SandboxState]:
    say(f"==> starting a twin of the demo's own (schedules {options.schedule_factor:g}x)")
    state = emulator.start(schedule_factor=options.schedule_factor, wait_s=60)
    say(f"    twin pid {state.pid} at {state.endpoint}, GitLab stand-in pid {state.gitlab_pid}")
    say(f"    its home {home} (removed at the end)")
    try:
        yield state
    finally:
        emulator.stop()
        say(f"==> stopped the twin (pid {state.pid}) and the stand-in (pid {state.gitlab_pid})")
