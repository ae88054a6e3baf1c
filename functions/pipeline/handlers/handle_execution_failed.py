"""Safety net: EventBridge 'Step Functions Execution Status Change' (FAILED/TIMED_OUT/ABORTED)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.contracts import ExecutionFailedOutput, ExecutionStatusChange
from functions.pipeline.logic.saga import execution_failed
from functions.shared.contracts import step_result
from functions.shared.observability import observed

INPUT, OUTPUT = ExecutionStatusChange, ExecutionFailedOutput


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse(event=event, model=INPUT)
    # No state reads this result (an event target's): what was not decided is left out.
    return step_result(OUTPUT, execution_failed(change.detail), exclude_none=True)
