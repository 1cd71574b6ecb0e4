"""Lambda logs into the sandbox's CloudWatch Logs, as Lambda ships them.

After each invocation its lines (the handler's output between Lambda's ``START`` and
``REPORT``) go to moto's log group ``/aws/lambda/<function>`` (created when missing), stream
``AWS_LAMBDA_LOG_STREAM_NAME``, so ``aws logs tail`` and the fleet view's decision log read
them as they would on AWS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("runnerfleet.twin.lambda")
LogSink = Callable[[str, str, list[str]], None]  # (group, stream, lines)


def moto_log_sink(account_id: str, region: str) -> LogSink:
    def _put(group: str, stream: str, lines: list[str]) -> None:
        from moto.logs.models import logs_backends

        backend = logs_backends[account_id][region]
        if group not in backend.groups:
            backend.create_log_group(group, {})
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        now_ms = int(time.time() * 1000)
        backend.put_log_events(group, stream, [{"timestamp": now_ms, "message": m} for m in lines])

    return _put


def ship(sink: LogSink | None, function: str, stream: str, path: Path, offset: int) -> None:
    """The invocation's lines (from ``offset`` of the function's log) to ``sink``."""
    if sink is None:
        return
    with path.open("rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode("utf-8", "replace").splitlines()
    try:
        sink(f"/aws/lambda/{function}", stream, [line for line in lines if line] or ["(no output)"])
    except Exception:  # best effort, as the logs are for people
        log.exception("shipping the logs of %s failed", function)
