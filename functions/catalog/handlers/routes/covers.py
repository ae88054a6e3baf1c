"""/v1/titles/{title_id}/cover: a presigned upload for a title's cover or backdrop image."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime
# (through the tracer wrapper), and string annotations would not resolve there.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from functions.catalog.logic import covers
from functions.catalog.logic.covers_contract import CoverUploadRequest, CoverUploadResponse
from functions.shared.auth import principal_from_event
from functions.shared.observability import logger, tracer

router = Router()

TitleId = Annotated[str, Path(description="Title id")]


@router.post(
    "/v1/titles/<title_id>/cover",
    summary="Get a presigned upload (S3 POST form) for the title's cover or backdrop image",
    description=(
        "Owner or admin. POST the returned fields, then the file as the `file` field, to the URL. "
        "The image is then checked and rendered to WebP; poll the title until "
        "`images.<kind>.upload_id` is this upload's id, then read `images.<kind>.status` "
        "(`ready` with the URLs, or `rejected` with a `reason`)."
    ),
    responses={
        201: {
            "description": "Upload target",
            "content": {"application/json": {"model": CoverUploadResponse}},
        },
        401: {"description": "No or invalid token"},
        403: {"description": "Not the title's owner, or a role that may not upload"},
        404: {"description": "No such title"},
        413: {"description": "Declared size above the limit"},
        422: {"description": "Invalid request (kind, content type, size)"},
    },
    tags=["titles"],
)
@tracer.capture_method
def create_cover_upload(
    title_id: TitleId, request: Annotated[CoverUploadRequest, Body()]
) -> Response[CoverUploadResponse]:
    principal = principal_from_event(router.current_event.raw_event)
    logger.append_keys(title_id=title_id)
    created = covers.create_cover_upload(principal, title_id, request)
    logger.info(
        "cover upload created", extra={"image_kind": created.kind.value, "upload_id": created.upload_id}
    )
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)
