"""Admin moderation routes: the review queue, decisions, the protected-content registry."""

# No "from __future__ import annotations": Powertools reads route signatures at runtime.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from functions.moderation.logic import review
from functions.moderation.models import ModerationDecision, ProtectRequest
from functions.shared.auth import principal_from_event
from functions.shared.observability import logger, tracer
from functions.shared.schema import ApiModel
from functions.videos.models import VideoView

router = Router()


class Protected(ApiModel):
    """A video registered in the copyright registry."""

    video_id: str
    frames: int  # fingerprinted frames
    protected_by: str


@router.get(
    "/v1/moderation/queue",
    summary="Videos held for review or rejected, with the evidence (admins)",
    responses={200: {"description": "The queue"}, 403: {"description": "Admins only"}},
    tags=["moderation"],
)
@tracer.capture_method
def queue() -> dict[str, list[VideoView]]:
    return {"items": review.review_queue(principal_from_event(router.current_event.raw_event))}


@router.post(
    "/v1/videos/<video_id>/moderation",
    summary="Approve or reject a video held for review (or approve a rejected one: it is re-run)",
    responses={
        200: {
            "description": "The video after the decision",
            "content": {"application/json": {"model": VideoView}},
        },
        403: {"description": "Admins only"},
        404: {"description": "No such video"},
        409: {"description": "Nothing to review"},
    },
    tags=["moderation"],
)
@tracer.capture_method
def decide(
    video_id: Annotated[str, Path(description="Video id")], decision: Annotated[ModerationDecision, Body()]
) -> VideoView:
    logger.append_keys(video_id=video_id)
    return review.decide(principal_from_event(router.current_event.raw_event), video_id, decision)


@router.post(
    "/v1/moderation/protected",
    summary="Register a READY video as protected content (copyright registry)",
    responses={
        201: {"description": "Registered", "content": {"application/json": {"model": Protected}}},
        403: {"description": "Admins only"},
        404: {"description": "No such video"},
        409: {"description": "Not READY"},
    },
    tags=["moderation"],
)
@tracer.capture_method
def protect(request: Annotated[ProtectRequest, Body()]) -> Response[Protected]:
    result = review.protect(principal_from_event(router.current_event.raw_event), request.video_id)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=Protected(**result))
