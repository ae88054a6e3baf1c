"""The sessions table (keys, indexes, TTL, stream), the sweeper's schedule, the recorder's stream
and the takedown's rule and queue, as synthesized."""

from __future__ import annotations

from typing import Any

from infra import spec
from infra.spec import sessions as sessions_spec
from tests.infrastructure.conftest import Synthesized


def _table(synthesized: Synthesized) -> dict[str, Any]:
    props: dict[str, Any] = synthesized.resources[
        synthesized.logical_id(synthesized.stack.storage.tables["sessions"])
    ]["Properties"]
    return props


def test_the_sessions_table_has_its_keys_indexes_ttl_and_stream(synthesized: Synthesized) -> None:
    props = _table(synthesized)
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {
        i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in props["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "open-by-user": ["open_user", "started_at"],
        "open-by-video": ["open_video", "started_at"],
        "open-by-shard": ["open_shard", "silent_at_ms"],
        "history": ["history_viewer", "watched_at"],
        "continue-watching": ["continue_viewer", "watched_at"],
    }
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_ttl", "Enabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_the_sweeper_runs_every_minute(synthesized: Synthesized) -> None:
    rules = [
        r
        for r in synthesized.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("ScheduleExpression")
    ]
    sweeper = synthesized.function_id(sessions_spec.SWEEPER)
    (rule,) = [r for r in rules if any(sweeper in str(t["Arn"]) for t in r["Properties"]["Targets"])]
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert rule["Properties"]["State"] == "ENABLED"
    permissions = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
        and sweeper in str(p["Properties"]["FunctionName"])
    ]
    assert permissions, "EventBridge may not invoke the sweeper"


def test_the_recorder_reads_the_sessions_stream(synthesized: Synthesized) -> None:
    recorder = synthesized.function_id(sessions_spec.RECORDER)
    table = synthesized.logical_id(synthesized.stack.storage.tables["sessions"])
    mappings = [
        m["Properties"]
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if recorder in str(m["Properties"]["FunctionName"])
    ]
    (mapping,) = mappings
    assert table in str(mapping["EventSourceArn"])
    assert mapping["StartingPosition"] == "TRIM_HORIZON"


def test_video_deleted_reaches_the_takedown_consumer_through_its_queue(synthesized: Synthesized) -> None:
    takedown = synthesized.function_id(sessions_spec.TAKEDOWN)
    queue = synthesized.logical_id(synthesized.stack.ingest.queues["sessions-takedown"])
    (mapping,) = [
        m["Properties"]
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if takedown in str(m["Properties"]["FunctionName"])
    ]
    assert queue in str(mapping["EventSourceArn"])
    patterns = [
        r["Properties"]["EventPattern"]
        for r in synthesized.of_type("AWS::Events::Rule").values()
        if "EventPattern" in r["Properties"] and queue in str(r["Properties"].get("Targets"))
    ]
    assert patterns == [{"source": ["vod.videos"], "detail-type": ["video.deleted"]}]


def test_the_heartbeat_route_has_no_authorizer_and_a_throttle_of_its_own(synthesized: Synthesized) -> None:
    (route,) = [
        r["Properties"]
        for r in synthesized.of_type("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == "POST /v1/sessions/{session_id}/heartbeat"
    ]
    assert route.get("AuthorizationType", "NONE") == "NONE"
    declared = next(r for r in spec.ROUTES if r.path == "/v1/sessions/{session_id}/heartbeat")
    assert declared.throttle == spec.api.HEARTBEAT_THROTTLE  # type: ignore[attr-defined]
    assert synthesized.stack.api.route_throttles["POST /v1/sessions/{session_id}/heartbeat"] is not None


def test_the_session_functions_are_granted_the_sessions_table_only() -> None:
    for name in (sessions_spec.RECORDER, sessions_spec.SWEEPER, sessions_spec.TAKEDOWN):
        fn = spec.FUNCTIONS_BY_NAME[name]
        assert dict(fn.grants) == {"sessions_table": spec.READ_WRITE}, name
    assert spec.FUNCTIONS_BY_NAME[sessions_spec.RECORDER].puts_events
    assert spec.FUNCTIONS_BY_NAME["videos-api"].grants["sessions_table"] == spec.READ_WRITE
