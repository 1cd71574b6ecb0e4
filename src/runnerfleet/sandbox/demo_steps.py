"""The demo's steps: the seed's tasks, each done as a user does it and waited for, bounded.

Commands run as the user runs them: ``runnerfleet`` in a subprocess (its output kept in the
demo's ``commands.log``, its telling lines echoed), the seed's terminate through the AWS CLI
v2 (boto3 when the machine has no AWS CLI v2, and the demo says so), pipelines through the
stand-in's REST API.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runnerfleet.aws.clients import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY
from runnerfleet.errors import SandboxError
from runnerfleet.sandbox.demo_env import DemoFiles, Project
from runnerfleet.sandbox.demo_report import TerminateWalk
from runnerfleet.sandbox.demo_twin import Say, TwinClients, wait_until
from runnerfleet.sandbox.state import SandboxState
from runnerfleet.stack.system_id import system_id_for_instance

# the lines of a command's output worth echoing as progress
_TELLING = re.compile(
    r"_COMPLETE\b|registrations: |\): (created|updated|deleted)|refresh \S+ (Successful|Failed)"
    r"|^relaunch |drain|destroy|deleted in GitLab|runner\(s\)"
)


@dataclass
class Run:
    """What the steps share: the demo's files, the clients and the clock."""

    job_seconds: int
    jobs: int
    files: DemoFiles
    clients: TwinClients
    state: SandboxState
    home: Path
    say: Say
    started: float
    deadline: float = 0.0
    group: str = ""
    pipelines: list[tuple[int, int]] = field(default_factory=list)  # (project, pipeline)
    walk: TerminateWalk | None = None
    relaunched: int = 0
    runners_seen: int = 0
    managers_most: int = 0

    def step(self, text: str) -> None:
        self.say(f"==> {time.monotonic() - self.started:5.1f}s {text}")

    def left(self, at_most: float) -> float:
        """A wait's bound: ``at_most``, but never past the demo's deadline."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise SandboxError("the demo ran past its time limit", hint="see the steps above")
        return min(at_most, remaining)

    def cli(self, *args: str) -> str:
        """``runnerfleet ARGS`` as a user runs it; SandboxError with its output if it fails."""
        argv = [sys.executable, "-m", "runnerfleet.cli.main", *args]
        done = self.run_bounded(argv, None, 120)
        output = done.stdout + done.stderr
        with (self.home / "commands.log").open("a", encoding="utf-8") as log:
            log.write(f"$ runnerfleet {' '.join(args)}\n{output}\n")
        if done.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-12:])
            raise SandboxError(
                f"`runnerfleet {args[0]}` exited {done.returncode} in the demo", hint=tail
            )
        for line in [ln for ln in output.splitlines() if _TELLING.search(ln)][-4:]:
            self.say(f"    {line.strip()}")
        return output

    def run_bounded(
        self, argv: list[str], env: dict[str, str] | None, at_most: float
    ) -> subprocess.CompletedProcess[str]:
        """A command, killed (by subprocess.run) on Ctrl-C or past the bound: SandboxError."""
        try:
            return subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=self.left(at_most),
                check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise SandboxError(
                f"the demo ran past its time limit in `{' '.join(argv[2:5])}`",
                hint="see the steps above; a loaded machine is slower",
            ) from exc

    def pipeline(self, project: Project, jobs: int, seconds: int) -> list[int]:
        pipeline_id = self.clients.create_pipeline(project.project_id, jobs, seconds, project.tags)
        self.pipelines.append((project.project_id, pipeline_id))
        found = self.clients.pipeline_jobs(project.project_id, pipeline_id)
        return [int(j["id"]) for j in found]

    def jobs_of(self, project: Project, pipeline_index: int = -1) -> list[dict[str, Any]]:
        return self.clients.pipeline_jobs(project.project_id, self.pipelines[pipeline_index][1])

    def note_gitlab(self) -> None:
        """Sample the runners and their managers in GitLab (the report shows the most)."""
        runners = self.clients.runners()
        managers = sum(len(self.clients.managers(int(r["id"]))) for r in runners)
        self.runners_seen = max(self.runners_seen, len(runners))
        self.managers_most = max(self.managers_most, managers)

    def require_walk(self) -> TerminateWalk:
        if self.walk is None:
            raise SandboxError("the demo did not terminate a busy instance")
        return self.walk


def walk_the_tasks(run: Run) -> None:
    scale_out(run)
    update_instance_type(run)
    terminate_busy(run)
    add_project(run)
    relaunch(run)
    scale_in(run)


def scale_out(run: Run) -> None:
    project = run.files.project
    run.step(
        f"pipeline: {run.jobs} jobs of {run.job_seconds} s in project {project.project_id} "
        f"(POST /projects/{project.project_id}/pipeline); the deployed autoscaler scales out"
    )
    run.pipeline(project, run.jobs, run.job_seconds)
    wait_until("every job running", lambda: _all(run.jobs_of(project), "running"), run.left(60))
    run.note_gitlab()


def update_instance_type(run: Run) -> None:
    files = run.files
    run.step(
        f"update the instance type {files.old_type} -> {files.new_type} while the jobs run: "
        f"deploy {files.bigger.name} (a rolling replacement through the drain)"
    )
    run.cli("deploy", str(files.bigger), "--sandbox", "--yes")
    kinds = {kind for _state, kind in run.clients.instances(run.group).values()}
    if kinds - {files.new_type}:
        raise SandboxError(f"after the update the group still runs {sorted(kinds)}")


def terminate_busy(run: Run) -> None:
    project = run.files.project
    run.step("one more job, then its instance is terminated with the seed's command")
    (job_id,) = run.pipeline(project, 1, max(run.job_seconds, 20))
    job = wait_until("the job running", lambda: _running(run, project, job_id), run.left(60))
    instance_id = _instance_of(run, str(job["runner_manager"]["system_id"]))
    via = _terminate(run, instance_id)
    asked = time.monotonic()
    wait_until(
        "Terminating:Wait",
        lambda: _state(run, instance_id) in ("Terminating:Wait", "Terminating:Proceed", ""),
        run.left(20),
    )
    run.say(f"    {instance_id} drains: its job {job_id} still runs")
    wait_until(
        "the drain to end",
        lambda: _state(run, instance_id) != "Terminating:Wait",
        run.left(run.job_seconds + 60),
    )
    waited = time.monotonic() - asked
    status = str(_job(run, project, job_id)["status"])
    run.walk = TerminateWalk(instance_id, job_id, via, waited, status)
    run.say(f"    left Terminating:Wait after {waited:.0f} s; job {job_id}: {status}")


def add_project(run: Run) -> None:
    new = run.files.new_project
    run.step(
        f"add a project: project {new.project_id} registered in {run.files.with_project.name}, "
        "deploy (runner created, instances replaced), then a pipeline in it"
    )
    run.cli("deploy", str(run.files.with_project), "--sandbox", "--yes")
    run.pipeline(new, 4, run.job_seconds)
    wait_until("the new project's jobs running", lambda: _all(run.jobs_of(new), "running"),
               run.left(60))  # fmt: skip
    run.note_gitlab()


def relaunch(run: Run) -> None:
    run.step("relaunch while the new project's jobs run (an instance refresh, drained)")
    before = set(run.clients.instances(run.group))
    run.cli("relaunch", str(run.files.with_project), "--sandbox")
    after = set(run.clients.instances(run.group))
    run.relaunched = len(before - after)


def scale_in(run: Run) -> None:
    run.step("the jobs end: the deployed autoscaler scales in to zero after its cooldown")
    wait_until("the group at zero", lambda: not run.clients.instances(run.group), run.left(60))


def destroy(run: Run) -> None:
    run.step(f"destroy {run.files.with_project.name} --sandbox (stack, GitLab runners, tokens)")
    run.cli("destroy", str(run.files.with_project), "--sandbox", "--yes")


# ---- the seed's terminate -------------------------------------------------------------------


def _terminate(run: Run, instance_id: str) -> str:
    """`aws autoscaling terminate-instance-in-auto-scaling-group
    --no-should-decrement-desired-capacity`, through the AWS CLI v2 when there is one."""
    cli = aws_cli_v2()
    shown = (
        f"aws autoscaling terminate-instance-in-auto-scaling-group --instance-id {instance_id} "
        "--no-should-decrement-desired-capacity"
    )
    if cli is None:
        run.say(f"    (no AWS CLI v2 on this machine: boto3 makes the same call) {shown}")
        answer = run.clients.asg.terminate_instance_in_auto_scaling_group(
            InstanceId=instance_id, ShouldDecrementDesiredCapacity=False
        )
        activity = answer["Activity"]
        run.say(f"    {activity['StatusCode']}: {activity['Description']}")
        return "boto3 (no AWS CLI v2 here)"
    run.say(f"    $ {shown}")
    printed = _aws(cli, run, shown.split()[1:])
    activity = json.loads(printed)["Activity"]
    run.say(f"    {activity['StatusCode']}: {activity['Description']}")
    return "the AWS CLI v2"


def _aws(cli: str, run: Run, args: list[str]) -> str:
    state = run.state
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(run.home),  # no profile of the user's is read
        "AWS_ACCESS_KEY_ID": SANDBOX_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SANDBOX_SECRET_KEY,
        "AWS_DEFAULT_REGION": state.region,
        "AWS_PAGER": "",
    }
    command = [cli, "--endpoint-url", state.endpoint, "--output", "json", *args]
    done = run.run_bounded(command, env, 60)
    if done.returncode != 0:
        raise SandboxError(f"the AWS CLI failed in the demo: {done.stderr.strip()}")
    return done.stdout


def aws_cli_v2() -> str | None:
    """The AWS CLI v2 (Debian's awscli) if this machine has it; None for v1 or nothing."""
    for candidate in (shutil.which("aws"), "/usr/bin/aws"):
        if not candidate or not Path(candidate).exists():
            continue
        out = subprocess.run(
            [candidate, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        if (out.stdout + out.stderr).startswith("aws-cli/2."):
            return candidate
    return None


# ---- small reads -----------------------------------------------------------------------------


def _all(jobs: list[dict[str, Any]], status: str) -> bool:
    return bool(jobs) and all(j["status"] == status for j in jobs)


def _job(run: Run, project: Project, job_id: int) -> dict[str, Any]:
    for pipeline_project, pipeline_id in run.pipelines:
        if pipeline_project == project.project_id:
            for job in run.clients.pipeline_jobs(pipeline_project, pipeline_id):
                if int(job["id"]) == job_id:
                    return job
    raise SandboxError(f"job {job_id} is not in the demo's pipelines")


def _running(run: Run, project: Project, job_id: int) -> dict[str, Any] | None:
    job = _job(run, project, job_id)
    return job if job["status"] == "running" and job.get("runner_manager") else None


def _state(run: Run, instance_id: str) -> str:
    return run.clients.instances(run.group).get(instance_id, ("", ""))[0]


def _instance_of(run: Run, system_id: str) -> str:
    for instance_id in run.clients.instances(run.group):
        if system_id_for_instance(instance_id) == system_id:
            return instance_id
    raise SandboxError(f"no instance of {run.group} has the system_id {system_id}")
