"""Step (chunked path): split the source at keyframes into chunks, encode the audio rendition."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.chunked_steps import split_step
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return split_step(
        video_id=event["video_id"],
        bucket=event["bucket"],
        key=event["key"],
        probe_dict=event["probe"],
        remaining_ms=context.get_remaining_time_in_millis(),
    )
