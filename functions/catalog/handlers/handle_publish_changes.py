"""Catalog table stream -> ``vod.catalog`` ``title.*`` events on the platform bus.

Reports a partial failure as the sequence number of the first record not published, so Lambda
retries from there and the events of one title stay in order (at least once: a consumer may see
an event twice, and tells by the version).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.catalog.logic.publisher import publish
from functions.shared.observability import metrics, observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    failed = publish(records)
    metrics.add_metric(name="CatalogChangesSeen", unit="Count", value=len(records))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
