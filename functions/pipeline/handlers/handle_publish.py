"""Step: mark READY with renditions, emit video.ready, record latency metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.contracts import PublishInput, PublishOutput
from functions.pipeline.logic.saga import publish
from functions.shared.contracts import step_result
from functions.shared.observability import observed

INPUT, OUTPUT = PublishInput, PublishOutput


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    result = publish(
        video_id=step.video_id,
        transcode=step.transcode,
        thumbnails=step.thumbnails,
        info=step.probe,
    )
    return step_result(OUTPUT, result)
