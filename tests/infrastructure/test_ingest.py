"""Uploads reach their consumer through SQS: S3 notification, redrive to a DLQ, partial batches."""

from __future__ import annotations

import pytest

from infra import spec
from tests.infrastructure.conftest import Synthesized


@pytest.mark.parametrize("queue_spec", spec.QUEUES, ids=lambda q: q.name)
def test_queue_redrives_to_its_dead_letter_queue(
    synthesized: Synthesized, queue_spec: spec.QueueSpec
) -> None:
    # Given the queue and its DLQ
    ingest = synthesized.stack.ingest
    queue = synthesized.resources[synthesized.logical_id(ingest.queues[queue_spec.name])]["Properties"]
    dlq_id = synthesized.logical_id(ingest.dead_letter_queues[queue_spec.name])

    # Then messages move to the DLQ after the declared number of receives
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": queue_spec.max_receive_count,
    }
    assert synthesized.resources[dlq_id]["Type"] == "AWS::SQS::Queue"
    assert queue["VisibilityTimeout"] == queue_spec.visibility_timeout_s
    assert queue["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("queue_spec", spec.QUEUES, ids=lambda q: q.name)
def test_consumer_reports_batch_item_failures(synthesized: Synthesized, queue_spec: spec.QueueSpec) -> None:
    queue_id = synthesized.logical_id(synthesized.stack.ingest.queues[queue_spec.name])
    (mapping,) = [
        m["Properties"]
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionName"] == {"Ref": synthesized.function_id(queue_spec.consumer)}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == queue_spec.batch_size
    # A queue with a concurrency share (each priority class's ingest queue) caps its pollers
    expected = {"MaximumConcurrency": queue_spec.max_concurrency} if queue_spec.max_concurrency else None
    assert mapping.get("ScalingConfig") == expected


@pytest.mark.parametrize("notification", spec.BUCKET_NOTIFICATIONS, ids=lambda n: f"{n.bucket}->{n.queue}")
def test_object_created_under_the_prefix_is_sent_to_the_queue(
    synthesized: Synthesized, notification: spec.BucketNotificationSpec
) -> None:
    bucket_id = synthesized.logical_id(synthesized.stack.buckets[notification.bucket])
    queue_id = synthesized.logical_id(synthesized.stack.ingest.queues[notification.queue])
    (config,) = [
        r["Properties"]["NotificationConfiguration"]
        for r in synthesized.of_type("Custom::S3BucketNotifications").values()
        if r["Properties"]["BucketName"] == {"Ref": bucket_id}
    ]
    # (one bucket carries several notifications: one per priority class's prefix, covers, ...)
    assert {
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": notification.prefix}]}},
        "QueueArn": {"Fn::GetAtt": [queue_id, "Arn"]},
    } in config["QueueConfigurations"]


@pytest.mark.parametrize("queue_spec", spec.QUEUES, ids=lambda q: q.name)
def test_dead_letter_queue_alarm_notifies_the_alarm_topic(
    synthesized: Synthesized, queue_spec: spec.QueueSpec
) -> None:
    dlq_id = synthesized.logical_id(synthesized.stack.ingest.dead_letter_queues[queue_spec.name])
    topic_id = synthesized.logical_id(synthesized.stack.monitoring.topic)
    (alarm,) = [
        a["Properties"]
        for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
        in a["Properties"]["Dimensions"]
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_every_queue_requires_tls(synthesized: Synthesized) -> None:
    queues = synthesized.of_type("AWS::SQS::Queue")
    policies = synthesized.of_type("AWS::SQS::QueuePolicy").values()
    for queue_id in queues:
        statements = [
            s
            for p in policies
            if {"Ref": queue_id} in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ), queue_id
