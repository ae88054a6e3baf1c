"""Safety net: EventBridge 'Step Functions Execution Status Change' (FAILED/TIMED_OUT/ABORTED)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.saga import execution_failed
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return execution_failed(event.get("detail") or {})
