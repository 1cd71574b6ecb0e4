"""The twin's local Lambda runtime: deployed functions run from the code deploy uploaded.

A function's configuration is moto's (Handler, Timeout, MemorySize, Environment, and the code
CreateFunction/UpdateFunctionCode read from the sandbox's S3). Each function gets one warm
worker process (``shims/lambda_bootstrap.py``, like a Lambda container: module caches persist
between invocations), started on first use with the code unzipped as its task root, the
function's variables, Lambda's own (``AWS_REGION``, ``AWS_LAMBDA_FUNCTION_NAME``...) and
``AWS_ENDPOINT_URL`` = the twin's front with the sandbox credentials. New code or
configuration means a new worker. An invocation that passes the function's timeout kills the
worker (the next one starts a fresh one): "Task timed out", as Lambda reports it. One worker
serves one invocation at a time; ``Event`` invocations run in the background, in order.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runnerfleet.sandbox.twin import shims
from runnerfleet.sandbox.twin.instances import DEAD_PROXY, NO_PROXY, TwinEndpoint
from runnerfleet.sandbox.twin.lambdalogs import LogSink, ship

log = logging.getLogger("runnerfleet.twin.lambda")
BOOTSTRAP = shims.SHIMS_DIR / "lambda_bootstrap.py"
MAX_SYNC_PAYLOAD, MAX_ASYNC_PAYLOAD = 6 * 1024 * 1024, 256 * 1024
LOG_TAIL_BYTES = 4096
START_GRACE_S = 10.0  # a cold start (imports) on top of the function's timeout


class LambdaError(Exception):
    """A Lambda API error: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, str]
    code: bytes = field(repr=False)

    @property
    def key(self) -> str:
        """What a worker was started for: code and configuration."""
        settings = json.dumps([self.handler, self.timeout_s, self.memory_mb, self.environment])
        return hashlib.sha256(self.code + settings.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class InvokeResult:
    status: int
    payload: bytes
    function_error: str = ""  # "Unhandled" when the function failed
    log_tail: str = ""  # base64 of the invocation's last 4 KB of log (LogType=Tail)


FunctionSource = Callable[[str, str | None], FunctionConfig]


def moto_functions(account_id: str, region: str) -> FunctionSource:
    """Functions as moto's Lambda backend holds them (what deploy created)."""

    def _find(name: str, qualifier: str | None) -> FunctionConfig:
        from moto.awslambda.utils import get_backend  # Docker off: moto's "simple" backend

        try:
            fn = get_backend(account_id, region).get_function(name, qualifier)
        except Exception as exc:  # moto's UnknownFunctionException
            arn = name if name.startswith("arn:") else _arn(account_id, region, name)
            raise LambdaError(
                404, "ResourceNotFoundException", f"Function not found: {arn}"
            ) from exc
        return FunctionConfig(
            name=str(fn.function_name),
            arn=str(fn.function_arn),
            handler=str(fn.handler or ""),
            timeout_s=int(fn.timeout),
            memory_mb=int(fn.memory_size),
            environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
            code=bytes(getattr(fn, "code_bytes", b"") or b""),
        )

    return _find


def _arn(account_id: str, region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account_id}:function:{name}"


class Worker:
    """One function's warm process, answering one JSON line per request."""

    def __init__(self, config: FunctionConfig, root: Path, env: dict[str, str], python: str):
        self.config = config
        self.log_path = root / "function.log"
        self.stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        task_root = root / "code" / config.key
        _unzip(config.code, task_root)
        with self.log_path.open("ab") as sink:
            self.process = subprocess.Popen(
                [python, str(BOOTSTRAP), str(task_root), config.handler],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sink,
                env=env, cwd=task_root, start_new_session=True,
            )  # fmt: skip
        self.calls = 0
        self._answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name=f"lambda-{config.name}").start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._answers.put(line.decode("utf-8", "replace"))
        self._answers.put(None)  # the process ended

    def wait_s(self) -> float:
        """The function's timeout; a cold worker's imports (Lambda's init) get their own."""
        slack = START_GRACE_S if self.calls == 0 else 0.5
        return self.config.timeout_s + slack

    def call(self, request: dict[str, Any], wait_s: float) -> dict[str, Any] | str:
        """The worker's answer, or "timeout" / "exit" when it has none."""
        assert self.process.stdin is not None
        self.calls += 1
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            line = self._answers.get(timeout=wait_s)
        except queue.Empty:
            return "timeout"
        except OSError:
            return "exit"
        return "exit" if line is None else dict(json.loads(line))

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("lambda worker %d did not end", self.process.pid)


def _unzip(code: bytes, target: Path) -> None:
    if target.is_dir():
        return
    if not code:
        raise LambdaError(
            502, "InvalidZipFileException", "The function's code is empty: deploy it again."
        )
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(partial)
    except zipfile.BadZipFile as exc:
        raise LambdaError(502, "InvalidZipFileException", f"The code is no zip: {exc}") from exc
    partial.rename(target)


class LocalLambdas:
    """The world's ``LambdaRuntime``: Invoke of deployed functions, warm worker per function."""

    def __init__(
        self,
        home: Path,
        functions: FunctionSource,
        endpoint: Callable[[], TwinEndpoint],
        *,
        python: str = sys.executable,
        clock: Callable[[], float] = time.time,
        log_sink: LogSink | None = None,
    ) -> None:
        self.home = home
        self.functions = functions
        self.endpoint = endpoint
        self.python = python
        self.clock = clock
        self.log_sink = log_sink
        self._workers: dict[str, Worker] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._async: queue.Queue[tuple[str, bytes, str | None] | None] = queue.Queue()
        self._async_thread: threading.Thread | None = None
        self.invocations: list[tuple[str, str]] = []  # (function, request id), for diagnosis

    def invoke(self, function_name: str, payload: bytes, invocation_type: str) -> tuple[int, bytes]:
        result = self.run(function_name, payload, invocation_type)
        return result.status, result.payload

    def run(
        self,
        function_name: str,
        payload: bytes,
        invocation_type: str = "RequestResponse",
        *,
        qualifier: str | None = None,
        log_tail: bool = False,
    ) -> InvokeResult:
        """Invoke as Lambda's API does: 200 with the result, 202 queued, 204 for DryRun."""
        config = self.functions(function_name, qualifier)
        event = _checked_payload(payload, invocation_type)
        if invocation_type == "DryRun":
            return InvokeResult(204, b"")
        if invocation_type == "Event":
            self._queue(config.name, event, qualifier)
            return InvokeResult(202, b"")
        if invocation_type != "RequestResponse":
            raise LambdaError(400, "InvalidParameterValueException", "Bad InvocationType.")
        return self._run_now(config, event, log_tail)

    def close(self) -> None:
        self._async.put(None)
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()

    # ---- inside ----

    def _queue(self, name: str, event: bytes, qualifier: str | None) -> None:
        with self._lock:
            if self._async_thread is None or not self._async_thread.is_alive():
                self._async_thread = threading.Thread(
                    target=self._drain_async, daemon=True, name="lambda-async"
                )
                self._async_thread.start()
        self._async.put((name, event, qualifier))

    def _drain_async(self) -> None:
        while (item := self._async.get()) is not None:
            name, event, qualifier = item
            try:
                result = self._run_now(self.functions(name, qualifier), event, False)
                if result.function_error:
                    log.warning("async %s failed: %s", name, result.payload[:500])
            except Exception:
                log.exception("async invocation of %s failed", name)

    def _run_now(self, config: FunctionConfig, event: bytes, tail: bool) -> InvokeResult:
        with self._function_lock(config.name):
            worker = self._worker(config)
            request_id = str(uuid.uuid4())
            self.invocations.append((config.name, request_id))
            start, offset = time.monotonic(), _size(worker.log_path)
            _log_line(worker.log_path, f"START RequestId: {request_id} Version: $LATEST")
            answer = worker.call(self._request(config, event, request_id), worker.wait_s())
            result = self._result(config, worker, answer, request_id)
            elapsed_ms = (time.monotonic() - start) * 1000
            _log_line(worker.log_path, f"END RequestId: {request_id}")
            _log_line(
                worker.log_path, f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms"
            )
            ship(self.log_sink, config.name, worker.stream, worker.log_path, offset)
        if not tail:
            return result
        return InvokeResult(
            result.status, result.payload, result.function_error, _tail(worker.log_path, offset)
        )

    def _request(self, config: FunctionConfig, event: bytes, request_id: str) -> dict[str, Any]:
        return {
            "payload": json.loads(event) if event else {},
            "timeout_s": config.timeout_s,
            "request_id": request_id,
            "function_arn": config.arn,
        }

    def _result(
        self, config: FunctionConfig, worker: Worker, answer: dict[str, Any] | str, request_id: str
    ) -> InvokeResult:
        if isinstance(answer, dict):
            error = "" if answer.get("ok") else "Unhandled"
            if answer.get("init"):
                self._retire(config.name, worker)  # Lambda retries the init on the next call
            return InvokeResult(200, str(answer["payload"]).encode(), error)
        self._retire(config.name, worker)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        if answer == "timeout":
            message = f"{stamp} {request_id} Task timed out after {config.timeout_s:.2f} seconds"
            return _failure("Sandbox.Timedout", message)
        code = worker.process.wait(timeout=5)
        message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
        return _failure("Runtime.ExitError", message)

    def _worker(self, config: FunctionConfig) -> Worker:
        with self._lock:
            worker = self._workers.get(config.name)
        if worker is not None and worker.config.key == config.key and worker.process.poll() is None:
            return worker
        if worker is not None:
            worker.stop()
        root = self.home / "lambda" / config.name
        root.mkdir(parents=True, exist_ok=True)
        worker = Worker(config, root, self._environment(config, root), self.python)
        with self._lock:
            self._workers[config.name] = worker
        return worker

    def _retire(self, name: str, worker: Worker) -> None:
        worker.stop()
        with self._lock:
            if self._workers.get(name) is worker:
                del self._workers[name]

    def _function_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(name, threading.Lock())

    def _environment(self, config: FunctionConfig, root: Path) -> dict[str, str]:
        endpoint = self.endpoint()
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "HOME": str(root),
            "TMPDIR": str(root / "tmp"),
            **config.environment,  # Lambda refuses reserved names in them at CreateFunction
            "AWS_REGION": endpoint.region,
            "AWS_DEFAULT_REGION": endpoint.region,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{config.key}",
            "_HANDLER": config.handler,
            "AWS_ENDPOINT_URL": endpoint.aws_endpoint,
            "AWS_ACCESS_KEY_ID": endpoint.access_key,
            "AWS_SECRET_ACCESS_KEY": endpoint.secret_key,
            "AWS_SESSION_TOKEN": "runnerfleet-sandbox",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        (root / "tmp").mkdir(exist_ok=True)
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            env[name] = DEAD_PROXY  # nothing but loopback is reachable from a function
        env["no_proxy"] = env["NO_PROXY"] = NO_PROXY
        return env


def _checked_payload(payload: bytes, invocation_type: str) -> bytes:
    limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
    if len(payload) > limit:
        raise LambdaError(
            413, "RequestTooLargeException", f"Request must be smaller than {limit} bytes."
        )
    if payload:
        try:
            json.loads(payload)
        except ValueError as exc:
            raise LambdaError(
                400, "InvalidRequestContentException", "Could not parse request body into json"
            ) from exc
    return payload


def _failure(kind: str, message: str) -> InvokeResult:
    body = json.dumps({"errorType": kind, "errorMessage": message}).encode()
    return InvokeResult(200, body, "Unhandled")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _log_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as sink:
        sink.write(line + "\n")


def _tail(path: Path, offset: int) -> str:
    with path.open("rb") as handle:
        handle.seek(offset)
        text = handle.read()
    return base64.b64encode(text[-LOG_TAIL_BYTES:]).decode()
