"""SQS (S3 ObjectCreated notifications) -> start the media pipeline. Partial batch failures reported."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.observability import metrics, observed, tracer
from functions.shared.s3_events import created_objects
from functions.videos.logic.ingest import handle_object_created

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    for created in created_objects(record.body):
        outcome = handle_object_created(
            bucket=created.bucket,
            key=created.key,
            sequencer=created.sequencer or created.etag or created.version_id or "v",
            size=created.size or 0,
            version_id=created.version_id,
            etag=created.etag,
        )
        metrics.add_metric(name=f"Ingest_{outcome.action}", unit="Count", value=1)


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
