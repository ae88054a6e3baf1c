"""/v1/titles: create, read, change, publish, unpublish and delete titles."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.catalog.contract import CreateTitleRequest, TitleView, UpdateTitleRequest
from functions.catalog.handlers.routes._common import (
    ERRORS,
    VERSIONED_ERRORS,
    IfMatch,
    TitleId,
    caller,
    ceiling,
    ok,
    with_etag,
)
from functions.catalog.logic import browse
from functions.catalog.logic import titles as logic
from functions.shared.observability import logger, tracer

router = Router()


@router.post(
    "/v1/titles",
    summary="Create a title (a draft: publish it to list it)",
    responses={**ok(TitleView, "Created", 201), **ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def create_title(request: Annotated[CreateTitleRequest, Body()]) -> Response[TitleView]:
    view = logic.create_title(caller(router), request)
    logger.append_keys(title_id=view.id)
    logger.info("title created")
    return with_etag(view, view.version, status=201, location=f"/v1/titles/{view.id}")


@router.get(
    "/v1/titles/<title_id>",
    summary="Get a title with its seasons and episodes",
    responses={**ok(TitleView, "The title"), **ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def get_title(title_id: TitleId) -> Response[TitleView]:
    principal = caller(router)
    view = browse.get_title(principal, title_id, ceiling(router, principal))
    return with_etag(view, view.version)


@router.patch(
    "/v1/titles/<title_id>",
    summary="Change a title's fields (If-Match)",
    responses={**ok(TitleView, "The changed title"), **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def update_title(
    title_id: TitleId, request: Annotated[UpdateTitleRequest, Body()], if_match: IfMatch = None
) -> Response[TitleView]:
    logger.append_keys(title_id=title_id)
    view = logic.update_title(caller(router), title_id, if_match, request)
    return with_etag(view, view.version)


@router.post(
    "/v1/titles/<title_id>/publish",
    summary="Publish a title: it appears in listings and search (If-Match)",
    responses={**ok(TitleView, "Published"), **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def publish_title(title_id: TitleId, if_match: IfMatch = None) -> Response[TitleView]:
    logger.append_keys(title_id=title_id)
    view = logic.publish(caller(router), title_id, if_match)
    logger.info("title published")
    return with_etag(view, view.version)


@router.post(
    "/v1/titles/<title_id>/unpublish",
    summary="Withdraw a published title from listings and search (If-Match)",
    responses={**ok(TitleView, "Unpublished"), **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def unpublish_title(title_id: TitleId, if_match: IfMatch = None) -> Response[TitleView]:
    logger.append_keys(title_id=title_id)
    view = logic.unpublish(caller(router), title_id, if_match)
    logger.info("title unpublished")
    return with_etag(view, view.version)


@router.delete(
    "/v1/titles/<title_id>",
    summary="Delete a title with its seasons and episodes (If-Match)",
    responses={204: {"description": "Deleted"}, **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def delete_title(title_id: TitleId, if_match: IfMatch = None) -> Response[None]:
    logger.append_keys(title_id=title_id)
    logic.delete_title(caller(router), title_id, if_match)
    logger.info("title deleted")
    return Response(status_code=204)
