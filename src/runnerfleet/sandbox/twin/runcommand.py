"""SSM Run Command on twin instances: a document's ``aws:runShellScript`` steps really run.

``SendCommand`` checks the document and its parameters, refuses instances that are not
running or stopped in the twin (``InvalidInstanceId``, as AWS does for unknown and terminated
ones) and returns at once; one thread per instance then waits for delivery (a stopped
instance's invocation stays ``Pending`` until it starts or ``TimeoutSeconds`` passes:
``Delivery Timed Out``; an instance terminated meanwhile: ``Undeliverable``) and runs each step
as the SSM agent does: the commands written to ``_script.sh`` under the instance's
``/var/lib/amazon/ssm`` and run with ``/bin/sh`` in the instance's environment, killed at the
step's ``timeoutSeconds`` (``Execution Timed Out``). The exit status is the ``ResponseCode``;
stdout and stderr are kept whole on the instance and answered capped as AWS does.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from runnerfleet.sandbox.twin.instances import SUPERVISE, Instance, InstanceRuntime
from runnerfleet.sandbox.twin.ssmdocs import (
    RUN_SHELL_SCRIPT,
    DocumentSource,
    SsmError,
    resolve_parameters,
    steps,
)
from runnerfleet.sandbox.twin.ssmmodel import (
    DETAILS,
    FINAL,
    Command,
    Invocation,
    PluginRun,
    invocation_answer,
)

DEFAULT_DELIVERY_TIMEOUT_S = 3600
MIN_DELIVERY_TIMEOUT_S, MAX_DELIVERY_TIMEOUT_S = 30, 2_592_000
MAX_INSTANCES = 50
POLL_S = 0.1


class RunCommandService:
    """The world's ``RunCommand`` port: commands and their invocations, run on instances."""

    def __init__(
        self,
        instances: InstanceRuntime,
        documents: DocumentSource,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.instances = instances
        self.documents = documents
        self.clock = clock
        self._commands: dict[str, Command] = {}
        self._order: list[str] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def send(
        self,
        document_name: str,
        instance_ids: Sequence[str],
        parameters: Mapping[str, Sequence[str]],
        comment: str = "",
        *,
        timeout_seconds: int = DEFAULT_DELIVERY_TIMEOUT_S,
        document_version: str = "",
    ) -> str:
        """Check and start the command; returns its id (delivery happens in the background)."""
        ids = _checked_instances(instance_ids, self.instances)
        _check_timeout(timeout_seconds)
        document = self.documents(document_name, document_version)
        values = resolve_parameters(document, parameters)
        planned = steps(document, values)
        command = Command(
            command_id=str(uuid.uuid4()),
            document=document,
            parameters=values,
            comment=comment,
            requested=self.clock(),
            timeout_s=timeout_seconds,
            invocations={i: Invocation(i, [PluginRun(s) for s in planned]) for i in ids},
        )
        with self._lock:
            self._commands[command.command_id] = command
            self._order.append(command.command_id)
        for invocation in command.invocations.values():
            self._start(command, invocation)
        return command.command_id

    def invocation(
        self, command_id: str, instance_id: str, plugin_name: str | None = None
    ) -> dict[str, Any]:
        """GetCommandInvocation's answer."""
        command = self.command(command_id)
        return invocation_answer(command, self.find(command, instance_id), plugin_name)

    def find(self, command: Command, instance_id: str) -> Invocation:
        invocation = command.invocations.get(instance_id)
        if invocation is None:
            raise SsmError("InvocationDoesNotExist", "")
        return invocation

    def command(self, command_id: str) -> Command:
        with self._lock:
            found = self._commands.get(command_id)
        if found is None:
            raise SsmError("InvalidCommandId", "")
        return found

    def commands(self) -> list[Command]:
        """Every command, newest first (as ListCommands orders them)."""
        with self._lock:
            return [self._commands[c] for c in reversed(self._order)]

    def cancel(self, command_id: str, instance_ids: Sequence[str] = ()) -> None:
        command = self.command(command_id)
        for instance_id, invocation in command.invocations.items():
            if (not instance_ids or instance_id in instance_ids) and invocation.status not in FINAL:
                if invocation.status == "InProgress":
                    invocation.set("Cancelling")
                invocation.cancel.set()

    def close(self) -> None:
        """Stop delivering; running scripts end with their instances."""
        self._closed.set()
        for thread in list(self._threads):
            thread.join(timeout=2)

    # ---- delivery and execution ----

    def _start(self, command: Command, invocation: Invocation) -> None:
        thread = threading.Thread(
            target=self._deliver,
            args=(command, invocation),
            name=f"ssm-{command.command_id[:8]}-{invocation.instance_id}",
            daemon=True,
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _deliver(self, command: Command, invocation: Invocation) -> None:
        instance = self._await_delivery(command, invocation)
        if instance is None:
            return
        invocation.set("InProgress")
        for plugin in invocation.plugins:
            self._run_step(command, invocation, instance, plugin)
        invocation.set(*_overall(invocation))

    def _await_delivery(self, command: Command, invocation: Invocation) -> Instance | None:
        iid = invocation.instance_id
        while not self._closed.is_set():
            if invocation.cancel.is_set():
                return self._end_all(invocation, "Cancelled", "Cancelled")
            if self.instances.get(iid) is None:
                return self._end_all(invocation, "Failed", "Undeliverable")
            if self.instances.reachable(iid):
                return self.instances.get(iid)
            if self.clock() >= command.deadline:
                return self._end_all(invocation, "TimedOut", "Delivery Timed Out")
            time.sleep(POLL_S)
        return self._end_all(invocation, "Failed", "Undeliverable")

    def _end_all(self, invocation: Invocation, status: str, details: str) -> Instance | None:
        """Every step ends undelivered; no instance to run on (None, for ``_await_delivery``)."""
        now = self.clock()
        for plugin in invocation.plugins:
            plugin.finish(status, details, -1, now)
        invocation.set(status, details)
        return None

    def _run_step(
        self, command: Command, invocation: Invocation, instance: Instance, plugin: PluginRun
    ) -> None:
        if invocation.cancel.is_set():
            plugin.finish("Cancelled", "Cancelled", -1, self.clock())
            return
        if plugin.step.action != RUN_SHELL_SCRIPT:
            _unsupported(plugin, self.clock())
            return
        work = _work_dir(instance, command.command_id, plugin.step.name)
        plugin.stdout, plugin.stderr = work / "stdout", work / "stderr"
        plugin.started = self.clock()
        plugin.status, plugin.details = "InProgress", DETAILS["InProgress"]
        process = _spawn(instance, self.instances.python, plugin, work)
        status, details = self._wait(process, plugin.step.timeout_s, invocation.cancel)
        code = process.returncode if process.returncode is not None else -1
        plugin.finish(status or ("Success" if code == 0 else "Failed"), details, code, self.clock())
        if not details:
            plugin.details = DETAILS[plugin.status]

    def _wait(
        self, process: subprocess.Popen[bytes], timeout_s: int, cancel: threading.Event
    ) -> tuple[str, str]:
        """("", "") when the script ended by itself; else why the twin ended it."""
        deadline = time.monotonic() + timeout_s
        while process.poll() is None:
            if cancel.is_set() or self._closed.is_set():
                return _end(process, "Cancelled", "Cancelled")
            if time.monotonic() >= deadline:
                return _end(process, "TimedOut", "Execution Timed Out")
            time.sleep(POLL_S)
        return "", ""


def _checked_instances(instance_ids: Sequence[str], instances: InstanceRuntime) -> list[str]:
    ids = list(dict.fromkeys(instance_ids))
    if not ids:
        raise SsmError("ValidationException", "InstanceIds (or InstanceIds targets) are required.")
    if len(ids) > MAX_INSTANCES:
        raise SsmError("ValidationException", f"At most {MAX_INSTANCES} InstanceIds.")
    invalid = [i for i in ids if instances.get(i) is None]
    if invalid:
        raise SsmError("InvalidInstanceId", f"Instances {invalid} not in a valid state for account")
    return ids


def _check_timeout(seconds: int) -> None:
    if not MIN_DELIVERY_TIMEOUT_S <= seconds <= MAX_DELIVERY_TIMEOUT_S:
        raise SsmError(
            "ValidationException",
            f"TimeoutSeconds {seconds} is outside "
            f"{MIN_DELIVERY_TIMEOUT_S}..{MAX_DELIVERY_TIMEOUT_S}.",
        )


_work_numbers = itertools.count(1)


def _work_dir(instance: Instance, command_id: str, step: str) -> Path:
    """Where the SSM agent keeps a step's script and output."""
    base = instance.root / "var/lib/amazon/ssm" / instance.instance_id / "document/orchestration"
    work = base / command_id / (step or f"step{next(_work_numbers)}")
    work.mkdir(parents=True, exist_ok=True)
    return work


def _spawn(
    instance: Instance, python: str, plugin: PluginRun, work: Path
) -> subprocess.Popen[bytes]:
    script = work / "_script.sh"
    script.write_text("\n".join(plugin.step.commands) + "\n")
    script.chmod(0o700)
    cwd = _working_directory(instance, plugin.step.working_directory)
    assert plugin.stdout is not None and plugin.stderr is not None
    with plugin.stdout.open("wb") as out, plugin.stderr.open("wb") as err:
        process = subprocess.Popen(
            [python, "-m", SUPERVISE, "--", "/bin/sh", str(script)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            env=instance.env, cwd=cwd, start_new_session=True,
        )  # fmt: skip
    instance.processes.append(process)  # ends with the instance, as everything on it
    return process


def _working_directory(instance: Instance, wanted: str) -> Path:
    """``workingDirectory`` inside the instance's root (the instance's ``/``)."""
    if not wanted:
        return instance.root
    path = instance.root / wanted.lstrip("/")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _end(process: subprocess.Popen[bytes], status: str, details: str) -> tuple[str, str]:
    """SIGTERM to the supervisor (it ends the script's group), then wait for it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    return status, details


def _unsupported(plugin: PluginRun, now: float) -> None:
    """The twin runs shell steps only; any other plugin fails, saying so on stderr."""
    plugin.started = now
    plugin.note = f"the sandbox runs only {RUN_SHELL_SCRIPT} steps, not {plugin.step.action}"
    plugin.finish("Failed", "Failed", 1, now)


def _overall(invocation: Invocation) -> tuple[str, str]:
    """The invocation's status from its steps': the first that did not succeed decides."""
    for plugin in invocation.plugins:
        if plugin.status != "Success":
            return plugin.status, plugin.details
    return "Success", "Success"
