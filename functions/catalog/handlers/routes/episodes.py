"""/v1/titles/{id}/seasons[/{n}/episodes]: a series' seasons and episodes (each change needs If-Match)."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.catalog.contract import (
    CreateEpisodeRequest,
    CreateSeasonRequest,
    EpisodeView,
    SeasonView,
    UpdateEpisodeRequest,
    UpdateSeasonRequest,
)
from functions.catalog.handlers.routes._common import (
    VERSIONED_ERRORS,
    EpisodeNumber,
    IfMatch,
    Responses,
    SeasonNumber,
    TitleId,
    caller,
    ok,
    with_etag,
)
from functions.catalog.logic import titles as logic
from functions.catalog.logic.titles import etag
from functions.shared.observability import logger, tracer

router = Router()
_DELETED: Responses = {204: {"description": "Deleted; ETag is the title's new version"}}


@router.post(
    "/v1/titles/<title_id>/seasons",
    summary="Add a season to a series",
    responses={**ok(SeasonView, "Created; ETag is the title's new version", 201), **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def add_season(
    title_id: TitleId, request: Annotated[CreateSeasonRequest, Body()], if_match: IfMatch = None
) -> Response[SeasonView]:
    logger.append_keys(title_id=title_id)
    view, version = logic.add_season(caller(router), title_id, if_match, request)
    return with_etag(view, version, status=201, location=f"/v1/titles/{title_id}/seasons/{view.number}")


@router.patch(
    "/v1/titles/<title_id>/seasons/<season>",
    summary="Change a season",
    responses={**ok(SeasonView, "The season"), **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def update_season(
    title_id: TitleId,
    season: SeasonNumber,
    request: Annotated[UpdateSeasonRequest, Body()],
    if_match: IfMatch = None,
) -> Response[SeasonView]:
    logger.append_keys(title_id=title_id)
    view, version = logic.update_season(caller(router), title_id, season, if_match, request)
    return with_etag(view, version)


@router.delete(
    "/v1/titles/<title_id>/seasons/<season>",
    summary="Delete an empty season",
    responses={**_DELETED, **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def delete_season(title_id: TitleId, season: SeasonNumber, if_match: IfMatch = None) -> Response[None]:
    logger.append_keys(title_id=title_id)
    version = logic.delete_season(caller(router), title_id, season, if_match)
    return Response(status_code=204, headers={"ETag": etag(version)})


@router.post(
    "/v1/titles/<title_id>/seasons/<season>/episodes",
    summary="Add an episode (bound to a video) to a season",
    responses={**ok(EpisodeView, "Created; ETag is the title's new version", 201), **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def add_episode(
    title_id: TitleId,
    season: SeasonNumber,
    request: Annotated[CreateEpisodeRequest, Body()],
    if_match: IfMatch = None,
) -> Response[EpisodeView]:
    logger.append_keys(title_id=title_id)
    view, version = logic.add_episode(caller(router), title_id, season, if_match, request)
    location = f"/v1/titles/{title_id}/seasons/{season}/episodes/{view.number}"
    return with_etag(view, version, status=201, location=location)


@router.patch(
    "/v1/titles/<title_id>/seasons/<season>/episodes/<episode>",
    summary="Change an episode",
    responses={**ok(EpisodeView, "The episode"), **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def update_episode(
    title_id: TitleId,
    season: SeasonNumber,
    episode: EpisodeNumber,
    request: Annotated[UpdateEpisodeRequest, Body()],
    if_match: IfMatch = None,
) -> Response[EpisodeView]:
    logger.append_keys(title_id=title_id)
    view, version = logic.update_episode(caller(router), title_id, season, episode, if_match, request)
    return with_etag(view, version)


@router.delete(
    "/v1/titles/<title_id>/seasons/<season>/episodes/<episode>",
    summary="Delete an episode",
    responses={**_DELETED, **VERSIONED_ERRORS},
    tags=["catalog"],
)
@tracer.capture_method
def delete_episode(
    title_id: TitleId, season: SeasonNumber, episode: EpisodeNumber, if_match: IfMatch = None
) -> Response[None]:
    logger.append_keys(title_id=title_id)
    version = logic.delete_episode(caller(router), title_id, season, episode, if_match)
    return Response(status_code=204, headers={"ETag": etag(version)})
