"""Step: mark READY with renditions, emit video.ready, record latency metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.saga import publish
from functions.shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(video_id=event["video_id"])
    tracer.put_annotation("video_id", event["video_id"])
    return publish(
        video_id=event["video_id"],
        transcode=event["transcode"],
        thumbnails=event["thumbnails"],
        probe=event["probe"],
    )
