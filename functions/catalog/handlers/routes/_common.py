"""What every catalog route shares: the caller, their audience ceiling, If-Match, ETag responses."""

# No "from __future__ import annotations": route modules import these types at runtime.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from functions.catalog.dal.views import MAX_CALLS_PER_PAGE
from functions.catalog.logic.titles import etag
from functions.identity.logic.audience import audience_ceiling, names_a_profile
from functions.shared.auth import Principal, principal_from_event

TitleId = Annotated[str, Path(description="Title id (32 hex characters)", pattern=r"^[0-9a-f]{32}$")]
SeasonNumber = Annotated[int, Path(description="Season number", ge=1, le=9999)]
EpisodeNumber = Annotated[int, Path(description="Episode number within its season", ge=1, le=9999)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="if-match",
        description='The title\'s ETag as last read, e.g. "3" (or *). Required to change a title.',
    ),
]

Responses = dict[int, OpenAPIResponse]

ERRORS: Responses = {
    401: {"description": "No or invalid token"},
    403: {"description": "Role may not do this, or the title is not yours"},
    404: {"description": "No such title (or not visible to you)"},
    422: {"description": "Invalid request"},
}
VERSIONED_ERRORS: Responses = {
    **ERRORS,
    409: {"description": "Conflicts with the title's state (kind, publication state, existing items)"},
    412: {"description": "If-Match does not name the current version"},
    428: {"description": "If-Match is missing"},
}


def caller(router: Router) -> Principal:
    return principal_from_event(router.current_event.raw_event)


def ceiling(router: Router, principal: Principal) -> int | None:
    return audience_ceiling(principal, router.current_event.raw_event)


def page_budget(router: Router) -> int:
    """DynamoDB calls a listing page may make: 2 in all, less the profile read ``ceiling`` made."""
    return MAX_CALLS_PER_PAGE - int(names_a_profile(router.current_event.raw_event))


def with_etag(
    body: BaseModel, version: int, *, status: int = 200, location: str | None = None
) -> Response[Any]:
    headers = {"ETag": etag(version)}
    if location:
        headers["Location"] = location
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def ok(model: type[BaseModel], description: str, status: int = 200) -> Responses:
    return {
        status: {
            "description": description,
            "headers": {"ETag": {"description": "The title's version", "schema": {"type": "string"}}},
            "content": {"application/json": {"model": model}},
        }
    }
