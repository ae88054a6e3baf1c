"""Saga compensation: delete the video's outputs, record REJECTED/FAILED with its reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.contracts import CompensateInput, CompensateOutput
from functions.pipeline.logic.saga import compensate
from functions.shared.contracts import step_result
from functions.shared.observability import observed

INPUT, OUTPUT = CompensateInput, CompensateOutput


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    result = compensate(
        video_id=step.video_id,
        failed_step=step.failed_step,
        error=step.error,
        execution=step.execution,
    )
    return step_result(OUTPUT, result)
