"""The twin's Lambda "container": one warm process per function, run by path, not as a module.

    python lambda_bootstrap.py TASK_ROOT HANDLER

It imports nothing of the project's own: the function's code comes from TASK_ROOT (the
artefact deploy uploaded, unzipped), first on ``sys.path`` as in Lambda's ``/var/task``.
Requests arrive one JSON line at a time on stdin (``payload``, ``timeout_s``,
``request_id``, ``client_context``); each answer is one JSON line on the original stdout, which
the handler cannot write to: its ``print`` goes to stderr, the function's log, as Lambda sends
stdout to CloudWatch Logs. As in Lambda's runtime, the root logger writes
``[LEVEL]<tab>time<tab>request id<tab>message`` lines there (at WARNING until the function
sets a level). The process lives as long as the twin keeps it (module caches
persist between invocations); the twin kills it when an invocation passes its timeout.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
_request = {"id": ""}  # the invocation being served, for the log lines


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request["id"]
        return True


def lambda_logging() -> None:
    """The root logger's handler as Lambda's Python runtime installs it."""
    formatter = logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_RequestId())
    logging.getLogger().addHandler(handler)


class Context:
    """The Lambda context object's documented attributes."""

    def __init__(self, request: dict[str, Any]) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = str(request.get("function_arn", ""))
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = str(request.get("request_id", ""))
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = request.get("client_context")
        self._deadline = time.time() + float(request.get("timeout_s", 3))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def load_handler(task_root: str, handler: str) -> Any:
    sys.path.insert(0, task_root)
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{handler}'")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    if not callable(getattr(module, function_name, None)):
        raise InitError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return getattr(module, function_name)


class InitError(Exception):
    """The function cannot start; its type is Lambda's (Runtime.ImportModuleError...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def error_of(exc: BaseException) -> dict[str, Any]:
    """Lambda's error payload for an exception the handler raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": exc.kind if isinstance(exc, InitError) else type(exc).__name__,
        "requestId": "",
        "stackTrace": [f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in frames],
    }


def invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    _request["id"] = str(request.get("request_id", ""))
    try:
        result = handler(request.get("payload"), Context(request))
        return {"ok": True, "payload": json.dumps(result)}
    except Exception as exc:  # the function's error is the answer, as Lambda reports it
        traceback.print_exc()
        return {"ok": False, "payload": json.dumps(error_of(exc))}


def serve(task_root: str, handler_name: str) -> int:
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # the handler's stdout is its log
    sys.stdout = sys.stderr
    lambda_logging()
    try:
        handler = load_handler(task_root, handler_name)
    except Exception as exc:
        init_error = {"ok": False, "payload": json.dumps(error_of(exc)), "init": True}
        handler = None
    for line in sys.stdin:
        request = json.loads(line)
        answer = invoke(handler, request) if handler is not None else init_error
        answers.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(serve(sys.argv[1], sys.argv[2]))
