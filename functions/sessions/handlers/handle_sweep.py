"""On a schedule: end the playback sessions silent past SESSION_SILENCE_SECONDS (``expired``).
Their ``session.ended`` events follow from the table's stream (handle_record.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.sessions.logic.sessions import sweep
from functions.shared.observability import logger, metrics, observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ended = sweep()
    metrics.add_metric(name="SessionsExpired", unit="Count", value=ended)
    if ended:
        logger.info("silent sessions ended", extra={"ended": ended})
    return {"expired": ended}
