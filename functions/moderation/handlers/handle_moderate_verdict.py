"""Step: the moderation checks (text, frames, copyright) over every range's results."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.moderation.logic.saga_step import moderate_verdict_step
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return moderate_verdict_step(
        video_id=event["video_id"],
        count=int(event["count"]),
        probe_dict=event["probe"],
        override=bool(event.get("moderation_override")),
    )
