"""SQS (S3 ObjectCreated under covers/) -> check the image, write its renditions, record them on the title.

Partial batch failures are reported: a message whose processing broke (S3 or DynamoDB trouble)
comes back later and ends in the dead-letter queue after ``max_receive_count`` tries. A refused
image is not a failure: it is recorded on the title with its reason.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.catalog.logic.covers_render import process_cover_upload
from functions.shared.observability import metrics, observed, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if body.get("Event") == "s3:TestEvent":
        return  # S3 sends one when the notification configuration is saved
    for s3_record in body.get("Records", []):
        if not str(s3_record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        obj = s3_record["s3"]["object"]
        outcome = process_cover_upload(
            bucket=s3_record["s3"]["bucket"]["name"],
            key=unquote_plus(obj["key"]),  # S3 URL-encodes keys in notifications
            size=int(obj["size"]) if "size" in obj else None,
        )
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
