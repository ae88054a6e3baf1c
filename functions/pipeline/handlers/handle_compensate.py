"""Saga compensation: delete the video's outputs, record REJECTED/FAILED with its reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.saga import compensate
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return compensate(
        video_id=event["video_id"],
        failed_step=event.get("failed_step", "unknown"),
        error=event.get("error"),
        execution=event.get("execution", ""),
    )
