"""Kinesis (CloudFront real-time log records; the local edge's in the embedded mode) -> the
sessions' CMCD counters (functions/qoe/logic/collect.py)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.qoe.logic.collect import collect
from functions.shared.observability import logger, metrics, observed


def _payloads(event: KinesisStreamEvent) -> list[bytes]:
    out = []
    for record in event.records:
        try:
            out.append(base64.b64decode(record.kinesis.data, validate=True))
        except (binascii.Error, ValueError):
            logger.warning("kinesis record is not base64", extra={"sequence": record.kinesis.sequence_number})
    return out


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = collect(_payloads(KinesisStreamEvent(event)))
    metrics.add_metric(name="CmcdRecords", unit="Count", value=batch.records)
    metrics.add_metric(name="CmcdRecordsDropped", unit="Count", value=sum(batch.dropped.values()))
    logger.info(
        "cmcd batch collected",
        extra={"records": batch.records, "sessions": len(batch.sessions), "dropped": dict(batch.dropped)},
    )
    return {"batchItemFailures": []}
