"""Step: the moderation checks (text, frames, copyright) over every range's results."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.moderation.contracts import ModerateVerdictInput, ModerationSummary
from functions.moderation.logic.saga_step import moderate_verdict_step
from functions.shared.contracts import step_result
from functions.shared.observability import observed

INPUT, OUTPUT = ModerateVerdictInput, ModerationSummary


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    result = moderate_verdict_step(
        video_id=step.video_id,
        count=step.count,
        info=step.probe,
        override=bool(step.moderation_override),
    )
    return step_result(OUTPUT, result)
