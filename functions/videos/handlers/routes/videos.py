"""/v1/videos routes: parse, authorise, call one logic function."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime
# (through the tracer wrapper), and string annotations would not resolve there.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.shared.auth import principal_from_event
from functions.shared.observability import logger, tracer
from functions.videos.logic import listing, retry, takedown
from functions.videos.logic import videos as logic
from functions.videos.models import (
    CreateVideoRequest,
    CreateVideoResponse,
    UpdateVideoRequest,
    VideoPage,
    VideoView,
)

router = Router()

VideoId = Annotated[str, Path(description="Video id (32 hex characters)")]
# Checked by the listing logic, not by the resolver: a bad value is a 400 with its own code
# (invalid_limit, invalid_cursor, invalid_status), as the catalog's cursors answer.
Limit = Annotated[str | None, Query(max_length=10, description="Page size, 1-100 (default 20)")]
Cursor = Annotated[
    str | None, Query(max_length=2048, description="next_cursor of the previous page (opaque, signed)")
]
_LISTING_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "A page, newest first", "content": {"application/json": {"model": VideoPage}}},
    400: {"description": "Bad limit, cursor or status"},
    401: {"description": "No or invalid token"},
    403: {"description": "Role may not list these videos"},
}


@router.post(
    "/v1/videos",
    summary="Create a video and get its upload target",
    responses={
        201: {"description": "Created", "content": {"application/json": {"model": CreateVideoResponse}}},
        401: {"description": "No or invalid token"},
        403: {"description": "Role may not upload"},
        413: {"description": "Declared size above the limit"},
        422: {"description": "Invalid request"},
    },
    tags=["videos"],
)
@tracer.capture_method
def create_video(request: Annotated[CreateVideoRequest, Body()]) -> Response[CreateVideoResponse]:
    principal = principal_from_event(router.current_event.raw_event)
    created = logic.create_video(principal, request)
    logger.append_keys(video_id=created.id)
    logger.info("video created")
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=created,
        headers={"Location": f"/v1/videos/{created.id}"},
    )


@router.get(
    "/v1/videos/<video_id>",
    summary="Get a video",
    responses={
        200: {"description": "The video", "content": {"application/json": {"model": VideoView}}},
        403: {"description": "Unpublished and not yours"},
        404: {"description": "No such video"},
    },
    tags=["videos"],
)
@tracer.capture_method
def get_video(video_id: VideoId) -> VideoView:
    principal = principal_from_event(router.current_event.raw_event)
    logger.append_keys(video_id=video_id)
    return logic.get_video(principal, video_id)


@router.patch(
    "/v1/videos/<video_id>",
    summary="Change a video's visibility (owner or admin)",
    responses={
        200: {"description": "The video", "content": {"application/json": {"model": VideoView}}},
        403: {"description": "Not yours"},
        404: {"description": "No such video"},
        422: {"description": "Invalid request (only visibility may change)"},
    },
    tags=["videos"],
)
@tracer.capture_method
def update_video(video_id: VideoId, request: Annotated[UpdateVideoRequest, Body()]) -> VideoView:
    logger.append_keys(video_id=video_id)
    return logic.update_video(principal_from_event(router.current_event.raw_event), video_id, request)


@router.post(
    "/v1/videos/<video_id>/retry",
    summary="Retry a FAILED video from its stored upload (owner or admin)",
    responses={
        200: {
            "description": "Re-entered the pipeline",
            "content": {"application/json": {"model": VideoView}},
        },
        403: {"description": "Not yours"},
        404: {"description": "No such video"},
        409: {"description": "Not FAILED (or a concurrent retry won)"},
    },
    tags=["videos"],
)
@tracer.capture_method
def retry_video(video_id: VideoId) -> VideoView:
    logger.append_keys(video_id=video_id)
    return retry.retry_video(principal_from_event(router.current_event.raw_event), video_id)


@router.get(
    "/v1/me/videos",
    summary="List my videos, any status, newest first (cursor-paged)",
    responses=_LISTING_RESPONSES,
    tags=["videos"],
)
@tracer.capture_method
def list_my_videos(limit: Limit = None, cursor: Cursor = None) -> VideoPage:
    principal = principal_from_event(router.current_event.raw_event)
    return listing.list_mine(principal, limit=limit, after=cursor)


@router.get(
    "/v1/videos",
    summary="List every owner's videos in one status, most recently changed first (admins)",
    responses=_LISTING_RESPONSES,
    tags=["videos"],
)
@tracer.capture_method
def list_videos_in_status(
    status: Annotated[str | None, Query(max_length=40, description="A video status, e.g. READY")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> VideoPage:
    principal = principal_from_event(router.current_event.raw_event)
    return listing.list_in_status(principal, status=status, limit=limit, after=cursor)


@router.delete(
    "/v1/videos/<video_id>",
    summary="Take a video down (owner or admin): DELETED, its media purged; repeating is harmless",
    responses={
        200: {"description": "The DELETED record", "content": {"application/json": {"model": VideoView}}},
        403: {"description": "Not yours, or a role that may not delete"},
        404: {"description": "No such video"},
    },
    tags=["videos"],
)
@tracer.capture_method
def delete_video(video_id: VideoId) -> VideoView:
    logger.append_keys(video_id=video_id)
    return takedown.take_down_video(principal_from_event(router.current_event.raw_event), video_id)
