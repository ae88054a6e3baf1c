"""GET /v1/titles (listing) and GET /v1/search: published titles, from the projections."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime.

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.catalog.contract import TitlePage
from functions.catalog.handlers.routes._common import Responses, caller, ceiling, page_budget
from functions.catalog.logic import browse
from functions.shared.observability import tracer
from functions.shared.ratings import ContentRating
from functions.shared.settings import get_settings

router = Router()

Cursor = Annotated[
    str | None, Query(max_length=2048, description="next_cursor of the previous page (opaque, signed)")
]
Limit = Annotated[int | None, Query(ge=1, le=100, description="Page size (default 20)")]
_RESPONSES: Responses = {
    200: {"description": "A page", "content": {"application/json": {"model": TitlePage}}},
    400: {"description": "The cursor was altered or belongs to another listing"},
    401: {"description": "No or invalid token"},
    422: {"description": "Invalid request"},
}


@router.get(
    "/v1/titles",
    summary="List published titles, newest first (filters combine)",
    responses=_RESPONSES,
    tags=["catalog"],
)
@tracer.capture_method
def list_titles(
    genre: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    rating: Annotated[ContentRating | None, Query()] = None,
    year: Annotated[int | None, Query(ge=1870, le=2100)] = None,
    cursor: Cursor = None,
    limit: Limit = None,
) -> TitlePage:
    principal = caller(router)
    filters = browse.Filters(genre=genre, tag=tag, rating=rating, year=year)
    return browse.list_titles(
        principal,
        ceiling(router, principal),
        filters,
        limit=limit or get_settings().catalog_page_size,
        after=cursor,
        budget=page_budget(router),
    )


@router.get(
    "/v1/search",
    summary="Search published titles by words of the title (any case or accents; CJK by 2 characters)",
    responses=_RESPONSES,
    tags=["catalog"],
)
@tracer.capture_method
def search_titles(
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words of the title")],
    cursor: Cursor = None,
    limit: Limit = None,
) -> TitlePage:
    principal = caller(router)
    return browse.search(
        principal,
        ceiling(router, principal),
        q,
        limit=limit or get_settings().catalog_page_size,
        after=cursor,
        budget=page_budget(router),
    )
