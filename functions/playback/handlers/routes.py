"""POST /v1/videos/{id}/playback: parse, find the caller's profile ceiling, call one logic function."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime
# (through the tracer wrapper), and string annotations would not resolve there.

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from functions.identity.logic.audience import active_profile
from functions.playback.models import PlaybackSessionResponse
from functions.shared.auth import principal_from_event
from functions.shared.observability import logger, tracer
from functions.videos.models import PlaybackRequest

router = Router()

VideoId = Annotated[str, Path(description="Video id (32 hex characters)")]


@router.post(
    "/v1/videos/<video_id>/playback",
    summary="Get a signed HLS URL for a READY video and open a playback session",
    responses={
        200: {
            "description": "Signed master playlist URL, the session and where to resume",
            "content": {"application/json": {"model": PlaybackSessionResponse}},
        },
        403: {
            "description": "The playback-access decision refused (code private, not_published, "
            "rating_restricted or forbidden_role); or the X-Profile-Id profile is not yours"
        },
        404: {"description": "No such video, or no such X-Profile-Id profile (code profile_not_found)"},
        409: {"description": "Not READY or VIEWABLE (code video_not_ready)"},
        410: {"description": "Taken down (code deleted)"},
        429: {
            "description": "The account plays its limit of concurrent streams (code too_many_streams; "
            "details.active_sessions lists them)"
        },
    },
    tags=["playback"],
)
@tracer.capture_method
def create_playback(
    video_id: VideoId, request: Annotated[PlaybackRequest | None, Body()] = None
) -> PlaybackSessionResponse:
    # Imported here: URL signing (cryptography, ~20 ms) is paid by this route only, not by every
    # cold start of the API function.
    from functions.playback.logic import urls

    event = router.current_event
    principal = principal_from_event(event.raw_event)
    logger.append_keys(video_id=video_id)
    profile = active_profile(principal, event.raw_event)
    return urls.create_playback(
        principal,
        video_id,
        request or PlaybackRequest(),
        event.raw_event["requestContext"]["http"]["sourceIp"],
        ceiling=profile.ceiling,
        profile_id=profile.profile_id,
    )
