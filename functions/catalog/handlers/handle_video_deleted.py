"""SQS (``video.deleted`` from the bus) -> the catalog lets go of the taken-down video.

Partial batch failures are reported; the unbinding is idempotent, so a redelivery is harmless.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.catalog.logic.takedown import unbind_video
from functions.shared.events import video_deleted_from_sqs_body
from functions.shared.observability import logger, observed, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    deleted = video_deleted_from_sqs_body(record.body)
    logger.append_keys(video_id=deleted.video_id)
    changes = unbind_video(deleted.video_id)
    logger.info("catalog let go of a taken-down video", extra={"changes": changes})


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
