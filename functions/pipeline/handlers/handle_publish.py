"""Step: mark READY with renditions, emit video.ready, record latency metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.saga import publish
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return publish(
        video_id=event["video_id"],
        transcode=event["transcode"],
        thumbnails=event["thumbnails"],
        probe=event["probe"],
    )
