"""SQS (S3 ObjectCreated notifications) -> start the media pipeline. Partial batch failures reported."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared.observability import metrics, observed, tracer
from functions.videos.logic.ingest import handle_object_created

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
        key = unquote_plus(obj["key"])  # S3 URL-encodes keys in notifications
        outcome = handle_object_created(
            bucket=s3_record["s3"]["bucket"]["name"],
            key=key,
            sequencer=str(obj.get("sequencer") or obj.get("eTag") or obj.get("versionId") or "v"),
            size=int(obj.get("size", 0)),
        )
        metrics.add_metric(name=f"Ingest_{outcome.action}", unit="Count", value=1)


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
