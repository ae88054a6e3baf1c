"""Step (chunked path, one Map iteration): encode one chunk to the rungs of one pass."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.chunked_steps import encode_chunk_step
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return encode_chunk_step(
        video_id=event["video_id"],
        chunk_dict=event["chunk"],
        pass_name=event["pass"],
        count=int(event["count"]),
        started_at=float(event["started_at"]),
        probe_dict=event["probe"],
        remaining_ms=context.get_remaining_time_in_millis(),
        bucket=event.get("bucket"),
        key=event.get("key"),
    )
