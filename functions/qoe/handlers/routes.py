"""GET /v1/videos/{id}/qoe: the video's QoE over its last N sessions (owner and admins)."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime.

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from functions.qoe.logic.summary import parse_limit, summarise_video
from functions.qoe.models import QoeSummary
from functions.shared.auth import principal_from_event
from functions.shared.authz import authorize
from functions.shared.errors import NotFound
from functions.shared.observability import logger, tracer
from functions.videos.logic.records import owner_of

router = Router()

READ_QOE = "videos:read_qoe"
VideoId = Annotated[str, Path(description="Video id (32 hex characters)")]


@router.get(
    "/v1/videos/<video_id>/qoe",
    summary="Quality of experience over the video's last N sessions (Mux Data's metrics)",
    responses={
        200: {"description": "The summary", "content": {"application/json": {"model": QoeSummary}}},
        400: {"description": "limit is not a whole number in range (code invalid_limit)"},
        403: {"description": "Not the owner or an admin"},
        404: {"description": "No such video"},
    },
    tags=["qoe"],
)
@tracer.capture_method
def get_video_qoe(
    video_id: VideoId,
    limit: Annotated[str | None, Query(description="Sessions to summarise (default 50)")] = None,
) -> QoeSummary:
    principal = principal_from_event(router.current_event.raw_event)
    logger.append_keys(video_id=video_id)
    authorize(principal, READ_QOE)  # the role first: a viewer learns nothing of the video
    sessions = parse_limit(limit)
    owner = owner_of(video_id)
    if owner is None:
        raise NotFound(f"no video {video_id}")
    authorize(principal, READ_QOE, owner=owner)
    return summarise_video(video_id, sessions)
