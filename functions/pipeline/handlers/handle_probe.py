"""Step: ffprobe the upload; reject what cannot be processed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.contracts import ProbeInput, ProbeOutput
from functions.pipeline.logic.media_steps import probe_step
from functions.shared.contracts import step_result
from functions.shared.observability import observed

INPUT, OUTPUT = ProbeInput, ProbeOutput


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    result = probe_step(
        video_id=step.video_id,
        bucket=step.bucket,
        key=step.key,
        version_id=step.version_id,
        remaining_ms=context.get_remaining_time_in_millis(),
    )
    return step_result(OUTPUT, result)
