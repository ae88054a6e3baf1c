"""Step (chunked path, one Map iteration): encode one chunk to the rungs of one pass."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.contracts import EncodeChunkInput, EncodeChunkOutput
from functions.pipeline.logic.chunked_steps import encode_chunk_step
from functions.shared.contracts import step_result
from functions.shared.observability import observed
from functions.videos.logic.takedown_guard import discard_if_taken_down

INPUT, OUTPUT = EncodeChunkInput, EncodeChunkOutput


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    result = encode_chunk_step(
        video_id=step.video_id,
        chunk=step.chunk,
        pass_name=step.pass_name,
        count=step.count,
        started_at=step.started_at,
        info=step.probe,
        remaining_ms=context.get_remaining_time_in_millis(),
        bucket=step.bucket,
        key=step.key,
        version_id=step.version_id,
    )
    discard_if_taken_down(step.video_id)  # a takedown while it ran: its outputs go too
    return step_result(OUTPUT, result)
