"""SQS (EventBridge domain events) -> signed webhook deliveries. Partial batch failures reported.

Each message body is the full EventBridge event, as an EventBridge rule with an SQS target
delivers it (``id``, ``detail-type``, ``source``, ``time``, ``detail``).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.observability import logger, metrics, observed, tracer
from functions.webhooks.logic.dispatch import WebhookEvent, dispatch, register_lambda_context
from functions.webhooks.models import DeliveryStatus, DomainEvent

processor = BatchProcessor(event_type=EventType.SQS)


def to_webhook_event(body: str) -> WebhookEvent:
    event = DomainEvent.model_validate_json(body)
    created_at = event.time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return WebhookEvent(id=event.id, type=event.detail_type, created_at=created_at, detail=event.detail)


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    event = to_webhook_event(record.body)
    logger.append_keys(event_id=event.id, video_id=event.video_id)
    tracer.put_annotation(key="event_id", value=event.id)
    remaining = lambda_context.get_remaining_time_in_millis() if lambda_context is not None else None
    results = dispatch(event, remaining_ms=remaining)
    delivered = sum(1 for r in results if r.outcome.status == DeliveryStatus.DELIVERED)
    metrics.add_metric(name="WebhooksDelivered", unit="Count", value=delivered)
    metrics.add_metric(name="WebhooksFailed", unit="Count", value=len(results) - delivered)


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    register_lambda_context(context)
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
