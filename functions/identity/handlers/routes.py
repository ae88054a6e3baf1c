"""/v1/profiles routes: a user's viewer profiles (the one a request uses goes in X-Profile-Id)."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime
# (through the tracer wrapper), and string annotations would not resolve there.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.identity.logic import profiles as logic
from functions.identity.models import CreateProfileRequest, ProfileList, ProfileView
from functions.shared.auth import principal_from_event
from functions.shared.observability import logger, tracer

router = Router()

ProfileId = Annotated[str, Path(description="Profile id (32 hex characters)")]
_MANAGE_ERRORS: dict[int, OpenAPIResponse] = {
    401: {"description": "No or invalid token"},
    403: {"description": "Not yours"},
    404: {"description": "No such profile"},
}


@router.post(
    "/v1/profiles",
    summary="Create a viewer profile, optionally with an age ceiling (a kids profile)",
    responses={
        201: {"description": "Created", "content": {"application/json": {"model": ProfileView}}},
        401: {"description": "No or invalid token"},
        403: {"description": "Not in a platform group"},
        409: {"description": "Too many profiles"},
        422: {"description": "Invalid request"},
    },
    tags=["profiles"],
)
@tracer.capture_method
def create_profile(request: Annotated[CreateProfileRequest, Body()]) -> Response[ProfileView]:
    created = logic.create_profile(principal_from_event(router.current_event.raw_event), request)
    logger.info("profile created", extra={"profile_id": created.id, "age_ceiling": created.age_ceiling})
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=created,
        headers={"Location": f"/v1/profiles/{created.id}"},
    )


@router.get(
    "/v1/profiles",
    summary="Your viewer profiles, oldest first",
    responses={
        200: {"description": "Your profiles", "content": {"application/json": {"model": ProfileList}}},
        401: {"description": "No or invalid token"},
        403: {"description": "Not in a platform group"},
    },
    tags=["profiles"],
)
@tracer.capture_method
def list_profiles() -> ProfileList:
    return logic.list_profiles(principal_from_event(router.current_event.raw_event))


@router.get(
    "/v1/profiles/<profile_id>",
    summary="A viewer profile",
    responses={
        200: {"description": "The profile", "content": {"application/json": {"model": ProfileView}}},
        **_MANAGE_ERRORS,
    },
    tags=["profiles"],
)
@tracer.capture_method
def get_profile(profile_id: ProfileId) -> ProfileView:
    return logic.get_profile(principal_from_event(router.current_event.raw_event), profile_id)


@router.delete(
    "/v1/profiles/<profile_id>",
    summary="Remove a viewer profile",
    responses={204: {"description": "Removed"}, **_MANAGE_ERRORS},
    tags=["profiles"],
)
@tracer.capture_method
def delete_profile(profile_id: ProfileId) -> Response[None]:
    logic.delete_profile(principal_from_event(router.current_event.raw_event), profile_id)
    logger.info("profile deleted", extra={"profile_id": profile_id})
    return Response(status_code=204)
