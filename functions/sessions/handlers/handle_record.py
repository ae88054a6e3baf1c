"""Sessions table stream -> history entries and ``session.ended`` events (logic/recorder.py).

A failure fails the batch: Lambda retries it (the entries are conditional on being newer, so a
replay is harmless; a ``session.ended`` may then be seen twice: consumers key on session_id)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.sessions.logic.recorder import record
from functions.shared.observability import logger, metrics, observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    outcome = record(records)
    # Only what happened: most batches are new sessions and heartbeats between projections.
    if outcome["ended"]:
        metrics.add_metric(name="SessionsEnded", unit="Count", value=outcome["ended"])
    if outcome["entries"]:
        metrics.add_metric(name="HistoryEntriesWritten", unit="Count", value=outcome["entries"])
    logger.debug("session records applied", extra={"records": len(records), **outcome})
    return {"batchItemFailures": []}
