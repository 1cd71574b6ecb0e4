"""The stand-in's HTTP server: a ThreadingHTTPServer on loopback, started in a thread.

Lists are paginated the way GitLab does it (``page``/``per_page``, 20 by default, ``X-Total``,
``X-Next-Page`` and a ``Link: <...>; rel="next"`` header), so python-gitlab's ``get_all=True``
walks them exactly as it walks gitlab.com.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from runnerfleet.errors import SandboxError
from runnerfleet.sandbox.standin import jobs as jobq
from runnerfleet.sandbox.standin.calls import Call
from runnerfleet.sandbox.standin.model import ApiError, Job, StandInState
from runnerfleet.sandbox.standin.routes import ROUTES

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_BODY = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would carry runner tokens in no case, but keep output clean."""

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            body = self._read_body()
            status, payload = self._route(method, split.path, query, body)
        except ApiError as exc:
            status, payload = exc.status, exc.body
        except (ValueError, json.JSONDecodeError):  # UnicodeDecodeError is a ValueError too
            status, payload = 400, {"message": "400 Bad request - malformed body"}
        if isinstance(payload, list):
            self._send_page(status, payload, split.path, query)
        else:
            self._send(status, payload)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, Any]:
        matched_path = False
        for route_method, pattern, handler in ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            matched_path = True
            if route_method == method:
                headers = {k.lower(): v for k, v in self.headers.items()}
                call = Call(
                    self.server.state,
                    match.groupdict(),
                    query,
                    body,
                    headers,
                    self.client_address[0],
                )
                return handler(call)
        if matched_path:
            return 405, {"message": "405 Method Not Allowed"}
        return 404, {"error": "404 Not Found"}

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        content_type = self.headers.get("Content-Type") or ""
        if "json" in content_type:
            data = json.loads(raw)
            return data if isinstance(data, dict) else {}
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return {}  # a job trace: text the stand-in does not keep
        form = parse_qs(raw.decode(), keep_blank_values=True)
        return {k.removesuffix("[]"): (v if k.endswith("[]") else v[-1]) for k, v in form.items()}

    def _send_page(
        self, status: int, items: list[Any], path: str, query: dict[str, list[str]]
    ) -> None:
        page = max(1, int((query.get("page") or ["1"])[-1] or 1))
        per_page = min(MAX_PER_PAGE, max(1, int((query.get("per_page") or ["20"])[-1] or 20)))
        total_pages = max(1, -(-len(items) // per_page))
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(total_pages),
            "X-Next-Page": "",
            "X-Prev-Page": "",
        }
        if page < total_pages:
            headers["X-Next-Page"] = str(page + 1)
            rest = {k: v for k, v in query.items() if k not in ("page", "per_page")}
            rest.update(page=[str(page + 1)], per_page=[str(per_page)])
            host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}"
            link = f"http://{host}{path}?{urlencode(rest, doseq=True)}"
            headers["Link"] = f'<{link}>; rel="next"'
        if page > 1:
            headers["X-Prev-Page"] = str(page - 1)
        self._send(status, items[(page - 1) * per_page : page * per_page], headers)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: StandInState) -> None:
        self.state = state
        super().__init__(address, _Handler)


class GitLabStandIn:
    """Start with ``with GitLabStandIn() as gl:`` or ``start()``/``stop()``; port 0 picks one.

    ``state`` is the in-memory model; seed it with ``add_access_token``, ``add_project``,
    ``add_group``, and queue work with ``enqueue_job``.
    """

    def __init__(
        self, state: StandInState | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise SandboxError(
                f"the GitLab stand-in listens on loopback only, not {host}",
                hint="use an address in 127.0.0.0/8",
            )
        self.state = state or StandInState()
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise SandboxError("the GitLab stand-in is not running", hint="call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GitLabStandIn:
        if self._server is None:
            self._server = _Server(self._address, self.state)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="gitlab-standin",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None

    def enqueue_job(self, project_id: int, **kwargs: Any) -> Job:
        return jobq.enqueue_job(self.state, project_id, **kwargs)

    def __enter__(self) -> GitLabStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
