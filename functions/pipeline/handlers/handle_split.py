"""Step (chunked path): split the source at keyframes into chunks, encode the audio rendition."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.contracts import SplitInput, SplitOutput
from functions.pipeline.logic.chunked_steps import split_step
from functions.shared.contracts import step_result
from functions.shared.observability import observed
from functions.videos.logic.takedown_guard import discard_if_taken_down

INPUT, OUTPUT = SplitInput, SplitOutput


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    result = split_step(
        video_id=step.video_id,
        bucket=step.bucket,
        key=step.key,
        version_id=step.version_id,
        info=step.probe,
        remaining_ms=context.get_remaining_time_in_millis(),
    )
    discard_if_taken_down(step.video_id)  # a takedown while it ran: its outputs go too
    return step_result(OUTPUT, result)
