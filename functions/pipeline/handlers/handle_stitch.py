"""Step (chunked path): stitch the chunks' segments into rung playlists and the master playlist."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.contracts import StitchInput, TranscodeOutput
from functions.pipeline.logic.chunked_steps import stitch_step
from functions.shared.contracts import step_result
from functions.shared.observability import observed
from functions.videos.logic.takedown_guard import discard_if_taken_down

INPUT, OUTPUT = StitchInput, TranscodeOutput


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    result = stitch_step(
        video_id=step.video_id,
        stage=step.stage,
        split=step.split,
        info=step.probe,
        verdict=step.moderation.verdict if step.moderation else None,
    )
    discard_if_taken_down(step.video_id)  # a takedown while it ran: its outputs go too
    return step_result(OUTPUT, result)
