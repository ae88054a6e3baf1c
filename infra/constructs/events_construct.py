"""The platform's own EventBridge bus for domain events (video.ready, video.failed, ...), and the
rules on it that deliver matching events to a queue (``spec.BUS_RULES``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import spec
from infra.constructs.ingest_construct import dlq_alarm, encrypted_queue
from infra.constructs.nag import suppress
from infra.constructs.naming import construct_id

# EventBridge pattern keys (as in the JSON) -> events.EventPattern arguments.
_PATTERN_FIELDS = {
    "version": "version",
    "id": "id",
    "detail-type": "detail_type",
    "source": "source",
    "account": "account",
    "time": "time",
    "region": "region",
    "resources": "resources",
    "detail": "detail",
}


def event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    unknown = set(pattern) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"unsupported event pattern fields: {sorted(unknown)}")
    return events.EventPattern(**{_PATTERN_FIELDS[key]: value for key, value in pattern.items()})


class EventsConstruct(Construct):
    """Exposes ``bus``, and once :meth:`add_queue_rules` ran, ``rules`` and ``dead_letter_queues``
    (by rule name) and ``alarms``. Step Functions status changes are not here: AWS sends them to
    the default bus, where the pipeline construct puts its rules."""

    def __init__(self, scope: Construct, construct_id_: str) -> None:
        super().__init__(scope, construct_id_)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{Stack.of(self).stack_name}-events")
        self.rules: dict[str, events.Rule] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.alarms: list[cloudwatch.Alarm] = []

    def add_queue_rules(
        self, rule_specs: Sequence[spec.BusRuleSpec], queues: Mapping[str, sqs.IQueue]
    ) -> None:
        """A rule on the bus per spec, delivering its events to the named queue. The queues exist
        only after the bus (their consumers' environment names the bus), hence a second step."""
        for rule in rule_specs:
            if rule.queue not in queues:
                raise KeyError(
                    f"bus rule {rule.name}: unknown queue {rule.queue!r} (known: {sorted(queues)})"
                )
            self.rules[rule.name] = self._queue_rule(rule, queues[rule.queue])

    def _queue_rule(self, rule: spec.BusRuleSpec, queue: sqs.IQueue) -> events.Rule:
        cid = construct_id(rule.name)
        # Events EventBridge could not deliver to the queue (after its retries) land here; what
        # the queue's consumer cannot process goes to the queue's own redrive DLQ instead.
        dead_letter_queue = encrypted_queue(self, f"{cid}DeadLetterQueue", retention_period=Duration.days(14))
        suppress(
            dead_letter_queue,
            "SQS3",
            f"This queue is itself a dead-letter queue: the {rule.name} rule's EventBridge target DLQ "
            f"for events that could not be sent to the {rule.queue} queue; cdk-nag only recognises SQS "
            "redrive DLQs.",
        )
        self.dead_letter_queues[rule.name] = dead_letter_queue
        self.alarms.append(dlq_alarm(self, f"{cid}DeadLetterAlarm", dead_letter_queue, f"{rule.name} rule"))
        # targets.SqsQueue adds the queue-policy statement that lets this rule (aws:SourceArn)
        # send to the queue, and the same for the DLQ. Both queues use SQS-managed SSE, which
        # EventBridge can write to (the AWS managed aws/sqs KMS key it could not use).
        return events.Rule(
            self,
            cid,
            event_bus=self.bus,
            description=f"Platform events -> {rule.queue} queue ({rule.name})",
            event_pattern=event_pattern(rule.pattern),
            targets=[
                targets.SqsQueue(
                    queue,
                    dead_letter_queue=dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.hours(6),
                )
            ],
        )
