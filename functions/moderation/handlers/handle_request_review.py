"""Step (waitForTaskToken): park the Saga's task token on the video; status IN_REVIEW."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.moderation.logic.review import hold_for_review
from functions.shared.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(video_id=event["video_id"])
    metrics.add_metric(name="VideosHeldForReview", unit="Count", value=1)
    return hold_for_review(video_id=event["video_id"], token=event["token"])
