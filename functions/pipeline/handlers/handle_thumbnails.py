"""Step: poster and storyboard for scrubbing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.media_steps import thumbnails_step
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return thumbnails_step(
        video_id=event["video_id"],
        bucket=event["bucket"],
        key=event["key"],
        probe_dict=event["probe"],
        transcode=event["transcode"],
        remaining_ms=context.get_remaining_time_in_millis(),
    )
