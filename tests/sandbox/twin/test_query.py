"""The Query protocol both ways, checked against botocore's own serializer and parser.

For every Auto Scaling operation a sample input (every member set) goes through botocore's
QuerySerializer and back through ``query.parse``; a sample output goes through
``query.serialize`` and back through botocore's QueryParser. Both must give the sample back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import Shape
from botocore.parsers import QueryParser
from botocore.serialize import QuerySerializer

from runnerfleet.sandbox.twin import query

MODEL = query.service_model("autoscaling")
MOMENT = datetime(2026, 12, 2, 8, 30, 15, 250000, tzinfo=UTC)


TOO_DEEP = object()


def sample(shape: Shape, name: str = "x", depth: int = 0) -> Any:
    """A value of ``shape`` with every member set and lists of two, within the constraints;
    members nested deeper than twelve levels are left out (some shapes are recursive)."""
    kind = shape.type_name
    if depth > 12 and kind in ("structure", "list", "map"):
        return TOO_DEEP
    if kind == "structure":
        members = {n: sample(m, n, depth + 1) for n, m in shape.members.items()}  # type: ignore[attr-defined]
        kept = {n: v for n, v in members.items() if v is not TOO_DEEP}
        return kept if kept or depth == 0 else TOO_DEEP  # an empty structure is not sent
    if kind == "list":
        item = sample(shape.member, name, depth + 1)  # type: ignore[attr-defined]
        return TOO_DEEP if item is TOO_DEEP else [item] * min(2, shape.metadata.get("max", 2))
    if kind == "map":
        value = sample(shape.value, name, depth + 1)  # type: ignore[attr-defined]
        return TOO_DEEP if value is TOO_DEEP else {"k1": value, "k2": value}
    return _scalar(shape, name)


SCALARS: dict[str, Any] = {
    "float": 1.5,
    "double": 1.5,
    "boolean": True,
    "timestamp": MOMENT,
    "blob": b"blob<&>",
}


def _scalar(shape: Shape, name: str) -> Any:
    meta = shape.metadata
    kind = shape.type_name
    if meta.get("enum"):
        return meta["enum"][-1]
    if kind in ("integer", "long"):
        return int(meta.get("min", 0)) + 1 if meta.get("max", 10) > meta.get("min", 0) else 0
    if kind in SCALARS:
        return SCALARS[kind]
    text = f"{name}-<&>"
    low, high = int(meta.get("min", 0)), int(meta.get("max", 255))
    return (text * 10)[: max(low, min(high, len(text)))]


def operations_with(kind: str) -> list[str]:
    names = []
    for name in MODEL.operation_names:
        shape = getattr(MODEL.operation_model(name), f"{kind}_shape")
        if shape is not None and shape.members:
            names.append(name)
    return names


@pytest.mark.parametrize("action", operations_with("input"))
def test_parse_gives_back_what_botocore_serialized(action: str) -> None:
    op = MODEL.operation_model(action)
    value = sample(op.input_shape)
    body = QuerySerializer().serialize_to_request(value, op)["body"]
    form = {key: [str(v)] for key, v in body.items()}
    assert query.parse(op, form) == value


@pytest.mark.parametrize("action", operations_with("output"))
def test_botocore_parses_what_serialize_wrote(action: str) -> None:
    op = MODEL.operation_model(action)
    value = sample(op.output_shape)
    body = query.serialize(op, value, request_id="rid-1")
    parsed = QueryParser().parse({"body": body, "headers": {}, "status_code": 200}, op.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid-1"
    assert parsed == value


def test_an_operation_without_output_still_has_its_response_element() -> None:
    op = MODEL.operation_model("SetDesiredCapacity")
    body = query.serialize(op, {}, request_id="r").decode()
    assert body.startswith("<SetDesiredCapacityResponse xmlns=")
    assert "<RequestId>r</RequestId>" in body


def test_empty_lists_and_missing_required_members_as_aws_says() -> None:
    op = MODEL.operation_model("DescribeAutoScalingGroups")
    assert query.parse(op, {"AutoScalingGroupNames": [""]}) == {"AutoScalingGroupNames": []}
    put = MODEL.operation_model("SetDesiredCapacity")
    with pytest.raises(query.QueryError) as info:
        query.parse(put, {"DesiredCapacity": ["x"]})
    assert info.value.code == "ValidationError"
    assert "2 validation errors detected" in info.value.message
    assert "Value null at 'autoScalingGroupName'" in info.value.message
    assert "Value 'x' at 'desiredCapacity'" in info.value.message


def test_constraints_are_checked_like_aws() -> None:
    hook = MODEL.operation_model("PutLifecycleHook")
    with pytest.raises(query.QueryError) as too_long:
        query.parse(hook, {"AutoScalingGroupName": ["g"], "LifecycleHookName": ["h" * 256]})
    assert too_long.value.message == (
        "1 validation error detected: Value at 'lifecycleHookName' failed to satisfy "
        "constraint: Member must have length less than or equal to 255"
    )
    pool = MODEL.operation_model("PutWarmPool")
    with pytest.raises(query.QueryError) as not_enum:
        query.parse(pool, {"AutoScalingGroupName": ["g"], "PoolState": ["Frozen"]})
    assert "Value 'Frozen' at 'poolState' failed to satisfy constraint: Member must " in (
        not_enum.value.message
    )
    assert "[Stopped, Running, Hibernated]" in not_enum.value.message


def test_an_unknown_action_is_invalid_action() -> None:
    with pytest.raises(query.QueryError) as info:
        query.operation("autoscaling", "LaunchRockets")
    assert info.value.code == "InvalidAction" and "LaunchRockets" in info.value.message


def test_timestamps_are_iso8601_utc_with_milliseconds() -> None:
    assert query.iso8601(MOMENT) == "2026-12-02T08:30:15.250Z"
    assert query.iso8601(MOMENT.timestamp()) == "2026-12-02T08:30:15.250Z"
