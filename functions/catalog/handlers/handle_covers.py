"""SQS (S3 ObjectCreated under covers/) -> check the image, write its renditions, record them on the title.

Partial batch failures are reported: a message whose processing broke (S3 or DynamoDB trouble)
comes back later and ends in the dead-letter queue after ``max_receive_count`` tries. A refused
image is not a failure: it is recorded on the title with its reason.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.catalog.logic.covers_render import process_cover_upload
from functions.shared.observability import metrics, observed, tracer
from functions.shared.s3_events import created_objects

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    for created in created_objects(record.body):
        outcome = process_cover_upload(bucket=created.bucket, key=created.key, size=created.size)
        metrics.add_metric(name=f"Cover_{outcome.action}", unit="Count", value=1)
        if outcome.reason:
            tracer.put_annotation("cover_rejection", outcome.reason)


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
