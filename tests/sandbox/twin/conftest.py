"""Fixtures of the twin tests: the front in-process over real HTTP, the twin as a process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from werkzeug.serving import make_server

from runnerfleet.sandbox.twin.front import Front, Route

REGION = "us-east-1"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


class Served:
    """A WSGI app on 127.0.0.1 for the duration of a test."""

    def __init__(self, app: WsgiApp) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="runnerfleet-sandbox",
            aws_secret_access_key="runnerfleet-sandbox",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def serve_front() -> Iterator[Callable[[WsgiApp, dict[str, Route]], Served]]:
    """Serve a Front over the given moto stand-in app and routes; shut down after the test."""
    served: list[Served] = []

    def _serve(moto: WsgiApp, routes: dict[str, Route]) -> Served:
        server = Served(Front(moto, routes))
        served.append(server)
        return server

    yield _serve
    for server in served:
        server.close()
