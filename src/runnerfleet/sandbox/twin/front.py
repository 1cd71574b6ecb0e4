"""The twin's one AWS endpoint: a WSGI app in front of moto.

Each request's service comes from its SigV4 credential scope (``.../<region>/<service>/
aws4_request`` in the Authorization header), as AWS's own endpoints are per service. A service
with a route is answered by it (the route may still call moto through ``passthrough`` and
rewrite the answer); everything else goes to moto's WSGI app unchanged, body and all.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

log = logging.getLogger("runnerfleet.twin.front")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


@dataclass(frozen=True)
class AwsRequest:
    """One client request, as a route sees it."""

    service: str  # the SigV4 signing name: autoscaling, ec2, ssm, lambda, events, ...
    region: str
    action: str  # the Query "Action" or the X-Amz-Target operation; "" for REST calls
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @property
    def json_protocol(self) -> bool:
        return "x-amz-target" in self.headers

    def form(self) -> dict[str, list[str]]:
        """The Query-protocol parameters (body and URL), every value kept."""
        params = parse_qs(self.query, keep_blank_values=True)
        if self.body and "x-www-form-urlencoded" in self.headers.get("content-type", ""):
            for key, values in parse_qs(self.body.decode(), keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
        return params


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def with_body(self, body: bytes) -> Reply:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        return Reply(self.status, [*headers, ("Content-Length", str(len(body)))], body)


Passthrough = Callable[[], Reply]
#: a route answers one service: (request, a way to ask moto) -> the reply
Route = Callable[[AwsRequest, Passthrough], Reply]


class Front:
    """The WSGI app: routes by service, falls back to moto."""

    def __init__(self, moto: WsgiApp, routes: Mapping[str, Route]) -> None:
        self.moto = moto
        self.routes = routes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        service, region = signing_scope(environ.get("HTTP_AUTHORIZATION", ""))
        route = self.routes.get(service)
        if route is None:
            return self.moto(environ, start_response)
        request = _request(environ, service, region)
        try:
            reply = route(request, lambda: self._ask_moto(environ, request.body))
        except Exception as exc:
            log.exception("%s %s failed", service, request.action or request.path)
            reply = internal_failure(request, exc)
        start_response(f"{reply.status} {_reason(reply.status)}", _sized(reply))
        return [reply.body]

    def _ask_moto(self, environ: dict[str, Any], body: bytes) -> Reply:
        """moto's answer to the original request, collected instead of streamed."""
        inner = dict(environ)
        inner["wsgi.input"] = io.BytesIO(body)
        inner["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"] = int(status.split(maxsplit=1)[0])
            captured["headers"] = list(headers)

        chunks = self.moto(inner, start_response)
        try:
            body_out = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return Reply(captured["status"], captured["headers"], body_out)


def signing_scope(authorization: str) -> tuple[str, str]:
    """(service, region) of a SigV4 Authorization header; ("", "") when unsigned."""
    match = _SCOPE.search(authorization)
    return (match.group(2), match.group(1)) if match else ("", "")


def _request(environ: dict[str, Any], service: str, region: str) -> AwsRequest:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    request = AwsRequest(
        service=service,
        region=region,
        action="",
        method=str(environ.get("REQUEST_METHOD", "GET")),
        path=str(environ.get("PATH_INFO", "/")),
        query=str(environ.get("QUERY_STRING", "")),
        headers=headers,
        body=body,
    )
    return _with_action(request)


def _with_action(request: AwsRequest) -> AwsRequest:
    target = request.headers.get("x-amz-target", "")
    action = target.rsplit(".", 1)[-1] if target else (request.form().get("Action") or [""])[0]
    return AwsRequest(**{**request.__dict__, "action": action})


def _sized(reply: Reply) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]
    return [*headers, ("Content-Length", str(len(reply.body)))]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def internal_failure(request: AwsRequest, exc: Exception) -> Reply:
    """What AWS answers when it fails itself: HTTP 500, InternalFailure, in the protocol's form."""
    message = f"the sandbox failed to serve {request.action or request.path}: {exc}"
    return error_reply(request, 500, "InternalFailure", message, sender=False)


def error_reply(
    request: AwsRequest, status: int, code: str, message: str, *, sender: bool = True
) -> Reply:
    """An AWS error: JSON (``__type``) for JSON protocols, Query XML otherwise."""
    if request.json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        return Reply(status, [("Content-Type", "application/x-amz-json-1.1")], body)
    kind = "Sender" if sender else "Receiver"
    xml = (
        "<ErrorResponse><Error>"
        f"<Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
    return Reply(status, [("Content-Type", "text/xml")], xml.encode())
