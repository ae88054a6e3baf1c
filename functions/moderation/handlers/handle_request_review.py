"""Step (waitForTaskToken): park the Saga's task token on the video; status IN_REVIEW."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.moderation.contracts import ReviewHeld, ReviewRequest
from functions.moderation.logic.review import hold_for_review
from functions.shared.contracts import step_result
from functions.shared.observability import metrics, observed

INPUT, OUTPUT = ReviewRequest, ReviewHeld


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    metrics.add_metric(name="VideosHeldForReview", unit="Count", value=1)
    return step_result(OUTPUT, hold_for_review(video_id=step.video_id, token=step.token))
