"""IMDSv2 for one twin instance, on the instance's own loopback address.

The instance's scripts reach it through ``RUNNERFLEET_IMDS_URL`` (lib.sh honours it). It keeps
the rules of the EC2 documentation that our scripts and SDKs depend on: a session token from
``PUT /latest/api/token`` with a TTL of 1..21600 s (400 otherwise, 403 with
``X-Forwarded-For`` or on a versioned token path), metadata reads answered only with a valid,
unexpired token when the launch template says ``HttpTokens: required`` (401 otherwise), 404 for
items that do not exist (``spot/instance-action`` until a notice, the target lifecycle state
until Auto Scaling set one), instance tags only when ``InstanceMetadataTags`` is enabled.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN_PATH = "/latest/api/token"  # noqa: S105 - a URL path, not a secret
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 - a header name
MAX_TTL_S = 21600
IMDS_PORT = 8169  # the real service is on 169.254.169.254:80; each instance has its own address


@dataclass
class InstanceMetadata:
    """What IMDS tells one instance; the world updates the lifecycle and spot items."""

    instance_id: str
    account_id: str
    region: str
    availability_zone: str
    local_ipv4: str
    instance_type: str = "t3.medium"
    ami_id: str = "ami-00000000000000000"
    user_data: str = ""
    tags: dict[str, str] | None = None  # None: InstanceMetadataTags is disabled
    tokens_required: bool = True
    endpoint_enabled: bool = True
    target_lifecycle_state: str | None = None
    spot_action: dict[str, str] | None = None
    rebalance: dict[str, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def hostname(self) -> str:
        domain = "ec2.internal" if self.region == "us-east-1" else f"{self.region}.compute.internal"
        return f"ip-{self.local_ipv4.replace('.', '-')}.{domain}"

    def items(self) -> dict[str, str]:
        """Every ``meta-data/`` leaf that exists now, by path."""
        with self.lock:
            out = {
                "ami-id": self.ami_id,
                "instance-id": self.instance_id,
                "instance-type": self.instance_type,
                "local-ipv4": self.local_ipv4,
                "local-hostname": self.hostname(),
                "hostname": self.hostname(),
                "placement/region": self.region,
                "placement/availability-zone": self.availability_zone,
            }
            if self.target_lifecycle_state is not None:
                out["autoscaling/target-lifecycle-state"] = self.target_lifecycle_state
            if self.spot_action is not None:
                out["spot/instance-action"] = json.dumps(self.spot_action)
            if self.rebalance is not None:
                out["events/recommendations/rebalance"] = json.dumps(self.rebalance)
            for key, value in (self.tags or {}).items():
                out[f"tags/instance/{key}"] = value
            return out

    def identity_document(self) -> str:
        with self.lock:
            document = {
                "accountId": self.account_id,
                "architecture": "x86_64",
                "availabilityZone": self.availability_zone,
                "imageId": self.ami_id,
                "instanceId": self.instance_id,
                "instanceType": self.instance_type,
                "privateIp": self.local_ipv4,
                "region": self.region,
                "version": "2017-09-30",
            }
        return json.dumps(document, indent=2)


def listing(items: dict[str, str], directory: str) -> str | None:
    """The newline-separated children of ``directory`` ('' is the root), or None if absent."""
    prefix = f"{directory.strip('/')}/" if directory.strip("/") else ""
    children: set[str] = set()
    for path in items:
        if path.startswith(prefix):
            head, sep, _ = path[len(prefix) :].partition("/")
            children.add(head + ("/" if sep else ""))
    return "\n".join(sorted(children)) if children else None


class SessionTokens:
    """Tokens of one instance's IMDS and when they expire."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, ttl_s: int) -> str:
        token = secrets.token_urlsafe(40)
        with self._lock:
            now = self._clock()
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + ttl_s
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and expiry > self._clock()


def parse_ttl(value: str | None) -> int | None:
    """The TTL header as seconds when it is an integer in 1..21600, else None."""
    if value is None or not value.strip().isdigit():
        return None
    ttl = int(value.strip())
    return ttl if 1 <= ttl <= MAX_TTL_S else None


Reply = tuple[int, str, dict[str, str]]


class Imds:
    """The request rules, separate from HTTP so that tests can call them directly."""

    def __init__(self, metadata: InstanceMetadata, tokens: SessionTokens | None = None) -> None:
        self.metadata = metadata
        self.tokens = tokens or SessionTokens()

    def put(self, path: str, headers: dict[str, str]) -> Reply:
        if not self.metadata.endpoint_enabled:
            return 403, "Forbidden", {}
        if path != TOKEN_PATH:
            return (403, "Forbidden", {}) if path.endswith("/api/token") else (404, "", {})
        if "x-forwarded-for" in headers:
            return 403, "Forbidden", {}
        ttl = parse_ttl(headers.get(TTL_HEADER.lower()))
        if ttl is None:
            return 400, "Bad Request", {}
        return 200, self.tokens.issue(ttl), {TTL_HEADER: str(ttl)}

    def get(self, path: str, headers: dict[str, str]) -> Reply:
        if not self.metadata.endpoint_enabled:
            return 403, "Forbidden", {}
        token = headers.get(TOKEN_HEADER.lower())
        if token is not None and not self.tokens.valid(token):
            return 401, "Unauthorized", {}
        if token is None and self.metadata.tokens_required:
            return 401, "Unauthorized", {}
        body = self._read(path)
        return (200, body, {}) if body is not None else (404, "Not Found", {})

    def _read(self, path: str) -> str | None:
        if path in ("/latest", "/latest/"):
            return "dynamic\nmeta-data\nuser-data"
        if path == "/latest/user-data":
            return self.metadata.user_data or None
        if path == "/latest/dynamic/instance-identity/document":
            return self.metadata.identity_document()
        if not path.startswith("/latest/meta-data"):
            return None
        key = path.removeprefix("/latest/meta-data").strip("/")
        items = self.metadata.items()
        if key in items and not path.endswith("/"):
            return items[key]
        return listing(items, key)


class _Handler(BaseHTTPRequestHandler):
    server: ImdsServer

    def do_PUT(self) -> None:
        self._reply(self.server.imds.put(self.path, self._headers()))

    def do_GET(self) -> None:
        self._reply(self.server.imds.get(self.path, self._headers()))

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _reply(self, reply: Reply) -> None:
        status, body, headers = reply
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the instance's own logs say what it read."""


class ImdsServer(ThreadingHTTPServer):
    """``Imds`` over HTTP on ``(address, port)``; ``start()`` serves it in a daemon thread."""

    daemon_threads = True

    def __init__(self, imds: Imds, address: str, port: int = IMDS_PORT) -> None:
        self.imds = imds
        super().__init__((address, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ImdsServer:
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
