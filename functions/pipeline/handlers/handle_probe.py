"""Step: ffprobe the upload; reject what cannot be processed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.media_steps import probe_step
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return probe_step(
        video_id=event["video_id"],
        bucket=event["bucket"],
        key=event["key"],
        remaining_ms=context.get_remaining_time_in_millis(),
    )
