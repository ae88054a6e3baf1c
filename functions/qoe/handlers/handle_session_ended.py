"""SQS (``session.ended`` events from the bus) -> the session's QoE and its metrics.

Each message body is the EventBridge event. A detail that breaks the contract is logged and
dropped (a retry would not mend it); a failed write is reported as a partial batch failure.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions.qoe.logic.sessions import record_end
from functions.qoe.models import SESSION_ENDED, SessionEnded
from functions.shared.observability import logger, metrics, observed, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        event = json.loads(record.body)
        if event.get("detail-type") != SESSION_ENDED:
            raise ValueError(f"not a {SESSION_ENDED} event")
        detail = SessionEnded.model_validate(event.get("detail"))
    except (ValueError, ValidationError, AttributeError) as exc:
        logger.warning("session.ended event dropped: it breaks the contract", extra={"error": str(exc)[:500]})
        metrics.add_metric(name="SessionEndedEventsRejected", unit="Count", value=1)
        return
    logger.append_keys(video_id=detail.video_id, session_id=detail.session_id)
    tracer.put_annotation("video_id", detail.video_id)
    outcome = record_end(detail)
    logger.info("session qoe recorded", extra={"recorded": outcome.recorded})


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
