"""Rules on the platform's own bus deliver domain events to queues (spec.BUS_RULES): exact pattern,
retries with a dead-letter queue, and queue policies that admit this rule only."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack

from infra import spec
from infra.constructs.events_construct import EventsConstruct
from tests.infrastructure.conftest import Synthesized

BUS_RULES = pytest.mark.parametrize("rule", spec.BUS_RULES, ids=lambda r: r.name)


def _rule(synthesized: Synthesized, rule: spec.BusRuleSpec) -> dict[str, Any]:
    props: dict[str, Any] = synthesized.resources[
        synthesized.logical_id(synthesized.stack.events.rules[rule.name])
    ]["Properties"]
    return props


def _policy_statements(synthesized: Synthesized, queue_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synthesized.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in policy["Properties"]["Queues"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_every_bus_rule_targets_a_declared_queue() -> None:
    assert {r.queue for r in spec.BUS_RULES} <= {q.name for q in spec.QUEUES}


@BUS_RULES
def test_rule_on_the_platform_bus_matches_the_spec_pattern_exactly(
    synthesized: Synthesized, rule: spec.BusRuleSpec
) -> None:
    props = _rule(synthesized, rule)
    assert props["EventBusName"] == {"Ref": synthesized.logical_id(synthesized.stack.events.bus)}
    assert props["EventPattern"] == dict(rule.pattern)
    assert props["State"] == "ENABLED"


def test_webhook_events_rule_sends_video_outcomes_to_the_webhooks_queue(synthesized: Synthesized) -> None:
    props = _rule(synthesized, next(r for r in spec.BUS_RULES if r.name == "webhook-events"))
    assert props["EventPattern"] == {
        "source": ["vod.videos"],
        "detail-type": ["video.ready", "video.rejected", "video.failed", "video.deleted"],
    }
    (target,) = props["Targets"]
    assert target["Arn"] == {
        "Fn::GetAtt": [synthesized.logical_id(synthesized.stack.ingest.queues["webhooks"]), "Arn"]
    }


@pytest.mark.parametrize(
    ("rule_name", "queue"),
    [("video-takedown", "video-takedown"), ("catalog-video-deleted", "catalog-video-deleted")],
)
def test_video_deleted_reaches_the_takedown_worker_and_the_catalog(
    synthesized: Synthesized, rule_name: str, queue: str
) -> None:
    props = _rule(synthesized, next(r for r in spec.BUS_RULES if r.name == rule_name))
    assert props["EventPattern"] == {"source": ["vod.videos"], "detail-type": ["video.deleted"]}
    (target,) = props["Targets"]
    assert target["Arn"] == {
        "Fn::GetAtt": [synthesized.logical_id(synthesized.stack.ingest.queues[queue]), "Arn"]
    }


@BUS_RULES
def test_rule_delivers_to_its_queue_with_retries_and_a_dead_letter_queue(
    synthesized: Synthesized, rule: spec.BusRuleSpec
) -> None:
    (target,) = _rule(synthesized, rule)["Targets"]
    queue_id = synthesized.logical_id(synthesized.stack.ingest.queues[rule.queue])
    dlq_id = synthesized.logical_id(synthesized.stack.events.dead_letter_queues[rule.name])
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert synthesized.resources[dlq_id]["Properties"]["SqsManagedSseEnabled"] is True


@BUS_RULES
def test_queue_and_its_target_dlq_admit_this_rule_only(
    synthesized: Synthesized, rule: spec.BusRuleSpec
) -> None:
    rule_arn = {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.events.rules[rule.name]), "Arn"]}
    for queue in (
        synthesized.stack.ingest.queues[rule.queue],
        synthesized.stack.events.dead_letter_queues[rule.name],
    ):
        queue_id = synthesized.logical_id(queue)
        allows = [s for s in _policy_statements(synthesized, queue_id) if s["Effect"] == "Allow"]
        (statement,) = [s for s in allows if s["Principal"] == {"Service": "events.amazonaws.com"}]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert "sqs:SendMessage" in actions
        assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}


@BUS_RULES
def test_rule_dead_letter_queue_alarm_notifies_the_alarm_topic(
    synthesized: Synthesized, rule: spec.BusRuleSpec
) -> None:
    dlq_id = synthesized.logical_id(synthesized.stack.events.dead_letter_queues[rule.name])
    (alarm,) = [
        a["Properties"]
        for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
        in a["Properties"]["Dimensions"]
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Threshold"] == 0
    assert alarm["AlarmActions"] == [{"Ref": synthesized.logical_id(synthesized.stack.monitoring.topic)}]


@BUS_RULES
def test_rule_dead_letter_queue_carries_its_sqs3_acknowledgment(
    synthesized: Synthesized, rule: spec.BusRuleSpec
) -> None:
    dlq_id = synthesized.logical_id(synthesized.stack.events.dead_letter_queues[rule.name])
    rules = synthesized.resources[dlq_id]["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert [r["id"] for r in rules] == ["AwsSolutions-SQS3"]


def test_bus_rule_to_an_unknown_queue_is_refused() -> None:
    bad = spec.BusRuleSpec(name="nowhere", pattern={"source": ["vod.videos"]}, queue="no-such-queue")
    events = EventsConstruct(Stack(App(), "Probe"), "Events")
    with pytest.raises(KeyError, match="no-such-queue"):
        events.add_queue_rules([bad], {})
