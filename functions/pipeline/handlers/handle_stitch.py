"""Step (chunked path): stitch the chunks' segments into rung playlists and the master playlist."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.chunked_steps import stitch_step
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return stitch_step(
        video_id=event["video_id"],
        stage=event["stage"],
        split=event["split"],
        probe_dict=event["probe"],
        verdict=(event.get("moderation") or {}).get("verdict"),
    )
