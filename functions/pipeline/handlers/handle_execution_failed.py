"""Safety net: EventBridge 'Step Functions Execution Status Change' (FAILED/TIMED_OUT/ABORTED)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.saga import execution_failed
from functions.shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return execution_failed(event.get("detail") or {})
