"""Step (waitForTaskToken): park the Saga's task token on the video; status IN_REVIEW."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.moderation.logic.review import hold_for_review
from functions.shared.observability import metrics, observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="VideosHeldForReview", unit="Count", value=1)
    return hold_for_review(video_id=event["video_id"], token=event["token"])
