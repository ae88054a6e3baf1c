"""CMCD collection on AWS: CloudFront real-time logs with the CMCD fields on the media behaviours,
an encrypted Kinesis stream, the collector's event source mapping and grants, and the
session.ended rule into the recorder's queue."""

from __future__ import annotations

from typing import Any

from functions.qoe.contract import CMCD_FIELDS, REALTIME_LOG_FIELDS
from infra import spec
from infra.constructs.cdn_construct import PLAYLIST_PATTERN
from infra.spec.qoe import CMCD_COLLECTOR, CMCD_STREAM, SESSION_RECORDER
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_cdn import _behaviors


def _one(synthesized: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = synthesized.of_type(resource_type)
    assert len(found) == 1, found
    ((logical_id, resource),) = found.items()
    return logical_id, resource["Properties"]


def test_the_realtime_log_config_carries_every_cmcd_field_and_no_signature(synthesized: Synthesized) -> None:
    _, config = _one(synthesized, "AWS::CloudFront::RealtimeLogConfig")
    assert config["Fields"] == list(REALTIME_LOG_FIELDS)
    # CloudFront's documented CMCD field names, one per CTA-5004 v1 key
    for name in (
        "cmcd-session-id",
        "cmcd-content-id",
        "cmcd-buffer-length",
        "cmcd-buffer-starvation",
        "cmcd-encoded-bitrate",
        "cmcd-measured-throughput",
        "cmcd-object-type",
        "cmcd-startup",
        "cmcd-top-bitrate",
        "cmcd-streaming-format",
        "cmcd-stream-type",
    ):
        assert name in config["Fields"]
    assert sorted(CMCD_FIELDS.values()) == sorted(
        [
            "sid",
            "cid",
            "bl",
            "br",
            "bs",
            "su",
            "mtp",
            "ot",
            "d",
            "tb",
            "pr",
            "sf",
            "st",
            "rtp",
            "nor",
            "nrr",
            "dl",
            "v",
        ]
    )
    # the query (the viewer's URL signature) and the viewer's address are not logged
    assert "cs-uri-query" not in config["Fields"] and "c-ip" not in config["Fields"]
    assert "cmcd-next-object-request" not in config["Fields"]  # hls.js puts the signed query in nor
    assert config["SamplingRate"] == 100
    (endpoint,) = config["EndPoints"]
    assert endpoint["StreamType"] == "Kinesis"
    stream_id, _ = _one(synthesized, "AWS::Kinesis::Stream")
    assert endpoint["KinesisStreamConfig"]["StreamArn"] == {"Fn::GetAtt": [stream_id, "Arn"]}


def test_the_config_is_on_the_media_behaviours_only(synthesized: Synthesized) -> None:
    config_id, _ = _one(synthesized, "AWS::CloudFront::RealtimeLogConfig")
    behaviors = _behaviors(synthesized)
    for pattern in ("default", PLAYLIST_PATTERN):
        assert behaviors[pattern]["RealtimeLogConfigArn"] == {"Ref": config_id}, pattern  # Ref: its ARN
    assert "RealtimeLogConfigArn" not in behaviors[spec.PUBLIC_IMAGES_PATH_PATTERN]


def test_the_stream_is_encrypted(synthesized: Synthesized) -> None:
    _, stream = _one(synthesized, "AWS::Kinesis::Stream")
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert stream["RetentionPeriodHours"] == 24


def test_cloudfront_writes_with_a_role_of_its_own_limited_to_the_stream(synthesized: Synthesized) -> None:
    _, config = _one(synthesized, "AWS::CloudFront::RealtimeLogConfig")
    role_id = config["EndPoints"][0]["KinesisStreamConfig"]["RoleArn"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    stream_id, _ = _one(synthesized, "AWS::Kinesis::Stream")
    policies = [
        r["Properties"]
        for r in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"kinesis:PutRecord", "kinesis:PutRecords"} <= actions
    assert all(s["Resource"] == {"Fn::GetAtt": [stream_id, "Arn"]} for s in statements)


def test_the_collector_consumes_the_stream_with_retries_and_an_on_failure_queue(
    synthesized: Synthesized,
) -> None:
    stream_id, _ = _one(synthesized, "AWS::Kinesis::Stream")
    mappings = [
        r["Properties"]
        for r in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if r["Properties"].get("EventSourceArn") == {"Fn::GetAtt": [stream_id, "Arn"]}
    ]
    (mapping,) = mappings
    assert mapping["FunctionName"] == {"Ref": synthesized.function_id(CMCD_COLLECTOR)}
    declared = next(s for s in spec.KINESIS_STREAMS if s.name == CMCD_STREAM)
    assert mapping["BatchSize"] == declared.batch_size
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == declared.retry_attempts
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "OnFailure" in mapping["DestinationConfig"]


def test_session_ended_events_reach_the_recorder(synthesized: Synthesized) -> None:
    rules = [
        r["Properties"]
        for r in synthesized.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == ["session.ended"]
    ]
    (rule,) = rules
    queue_arn = rule["Targets"][0]["Arn"]["Fn::GetAtt"][0]
    mappings = [
        r["Properties"]
        for r in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if r["Properties"].get("EventSourceArn") == {"Fn::GetAtt": [queue_arn, "Arn"]}
    ]
    (mapping,) = mappings
    assert mapping["FunctionName"] == {"Ref": synthesized.function_id(SESSION_RECORDER)}


def test_the_qoe_table_expires_its_items(synthesized: Synthesized) -> None:
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.tables["qoe_table"])]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by-video"
