"""IMDSv2 of a twin instance: the token rules and the items our scripts read."""

from __future__ import annotations

import httpx

from runnerfleet.sandbox.twin.imds import Imds, ImdsServer, InstanceMetadata, SessionTokens

TTL = "x-aws-ec2-metadata-token-ttl-seconds"


def _imds(now: list[float], **changes: object) -> Imds:
    metadata = InstanceMetadata(
        instance_id="i-0abc", account_id="123456789012", region="eu-west-1",
        availability_zone="eu-west-1b", local_ipv4="127.0.100.9",
    )  # fmt: skip
    for name, value in changes.items():
        setattr(metadata, name, value)
    return Imds(metadata, SessionTokens(clock=lambda: now[0]))


def _token(imds: Imds, ttl: str = "60") -> str:
    status, token, headers = imds.put("/latest/api/token", {TTL: ttl})
    assert status == 200 and headers == {"X-aws-ec2-metadata-token-ttl-seconds": ttl}
    return token


def test_token_put_rules() -> None:
    imds = _imds([0.0])
    assert imds.put("/latest/api/token", {})[0] == 400  # no TTL
    assert imds.put("/latest/api/token", {TTL: "0"})[0] == 400
    assert imds.put("/latest/api/token", {TTL: "21601"})[0] == 400
    assert imds.put("/2021-01-03/api/token", {TTL: "60"})[0] == 403  # versioned path
    assert imds.put("/latest/api/token", {TTL: "60", "x-forwarded-for": "1.2.3.4"})[0] == 403


def test_reads_need_a_valid_unexpired_token() -> None:
    now = [0.0]
    imds = _imds(now)
    token = _token(imds)
    header = {"x-aws-ec2-metadata-token": token}
    assert imds.get("/latest/meta-data/instance-id", header)[:2] == (200, "i-0abc")
    assert imds.get("/latest/meta-data/placement/region", header)[1] == "eu-west-1"
    assert imds.get("/latest/meta-data/instance-id", {})[0] == 401  # IMDSv1 is off
    assert imds.get("/latest/meta-data/instance-id", {"x-aws-ec2-metadata-token": "x"})[0] == 401
    now[0] = 61.0
    assert imds.get("/latest/meta-data/instance-id", header)[0] == 401  # expired


def test_optional_tokens_allow_imdsv1() -> None:
    imds = _imds([0.0], tokens_required=False)
    assert imds.get("/latest/meta-data/instance-id", {})[0] == 200


def test_lifecycle_spot_and_tags_exist_only_when_set() -> None:
    imds = _imds([0.0])
    header = {"x-aws-ec2-metadata-token": _token(imds)}
    for path in ("autoscaling/target-lifecycle-state", "spot/instance-action", "tags/instance"):
        assert imds.get(f"/latest/meta-data/{path}", header)[0] == 404
    imds.metadata.target_lifecycle_state = "InService"
    imds.metadata.spot_action = {"action": "terminate", "time": "2026-12-02T10:00:00Z"}
    imds.metadata.tags = {"Name": "runner", "Team": "ci"}
    assert imds.get("/latest/meta-data/autoscaling/target-lifecycle-state", header)[1] == (
        "InService"
    )
    assert '"action": "terminate"' in imds.get("/latest/meta-data/spot/instance-action", header)[1]
    assert imds.get("/latest/meta-data/tags/instance", header)[1] == "Name\nTeam"
    assert "spot/" in imds.get("/latest/meta-data/", header)[1].split("\n")


def test_served_on_the_instance_address() -> None:
    server = ImdsServer(_imds([0.0]), "127.0.100.250", port=0).start()
    try:
        token = httpx.put(f"{server.url}/latest/api/token", headers={TTL: "30"}).text
        got = httpx.get(
            f"{server.url}/latest/meta-data/local-ipv4",
            headers={"X-aws-ec2-metadata-token": token},
        )
        assert got.status_code == 200 and got.text == "127.0.100.9"
    finally:
        server.stop()
