"""SQS (``video.deleted`` from the bus) -> purge what the taken-down video left behind.

One video per message; a failure is reported for that message only and SQS delivers it again
(every step of the purge is idempotent), then to the DLQ.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.events import video_deleted_from_sqs_body
from functions.shared.observability import logger, observed, tracer
from functions.videos.logic.purge import purge_taken_down

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    deleted = video_deleted_from_sqs_body(record.body)
    logger.append_keys(video_id=deleted.video_id)
    purge_taken_down(deleted.video_id)


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
