"""SQS (``vod.catalog`` events from the bus) -> the listing and search projections.

Each message body is the EventBridge event (``detail-type``, ``detail``). Partial batch failures
are reported; a replayed or late event is recognised by its version and skipped.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.catalog.logic.projector import apply
from functions.shared.observability import logger, metrics, observed, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    event = json.loads(record.body)
    detail = event["detail"]
    logger.append_keys(title_id=detail.get("title_id"))
    outcome = apply(event["detail-type"], detail)
    logger.info("catalog event projected", extra={"outcome": outcome, "version": detail.get("version")})
    metrics.add_metric(
        name="CatalogEventsProjected" if outcome == "projected" else "CatalogEventsSkipped",
        unit="Count",
        value=1,
    )


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
