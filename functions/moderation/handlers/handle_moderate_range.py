"""Step (a Map iteration of the chunked path): sample, classify and fingerprint one time range."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.moderation.logic.saga_step import moderate_range_step
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return moderate_range_step(
        video_id=event["video_id"],
        bucket=event["bucket"],
        key=event["key"],
        probe_dict=event["probe"],
        chunk_dict=event["chunk"],
        remaining_ms=context.get_remaining_time_in_millis(),
    )
