"""SQS (``video.deleted`` from the bus) -> the video's open sessions end (``taken_down``).

Each message body is the EventBridge event; detail ``{video_id, owner, deleted_by, deleted_at,
previous_status}``. Ending a session is conditional, so a repeated event ends nothing twice."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.sessions.logic.sessions import end_video_sessions
from functions.shared.observability import logger, metrics, observed, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    event = json.loads(record.body)
    video_id = str(event["detail"]["video_id"])
    logger.append_keys(video_id=video_id)
    ended = end_video_sessions(video_id)
    logger.info("taken-down video's sessions ended", extra={"ended": ended})
    metrics.add_metric(name="SessionsTakenDown", unit="Count", value=ended)


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
