"""Sessions and history routes: the heartbeat (authenticated by the session's own token, no JWT)
and /v1/me/{continue-watching,history,settings} (the caller and the active profile, X-Profile-Id)."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime
# (through the tracer wrapper), and string annotations would not resolve there.

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import ValidationError

from functions.identity.logic.audience import active_profile
from functions.sessions.logic import history as history_logic
from functions.sessions.logic import sessions as session_logic
from functions.sessions.models import (
    Heartbeat,
    HeartbeatAccepted,
    HistoryPage,
    ViewerSettings,
    ViewerSettingsPatch,
)
from functions.shared.auth import Principal, principal_from_event
from functions.shared.authz import authorize
from functions.shared.errors import DomainError, PayloadTooLarge
from functions.shared.http import accept_beacons, parse_json_body
from functions.shared.observability import logger, tracer

router = Router()

HEARTBEAT_PATH = "/v1/sessions/{session_id}/heartbeat"
# navigator.sendBeacon posts text/plain and sets no header: this route reads such a body as JSON.
accept_beacons(f"POST {HEARTBEAT_PATH}")
MAX_HEARTBEAT_BYTES = 16 * 1024

SessionId = Annotated[str, Path(description="The playback response's session_id (ses_...)", max_length=80)]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
Limit = Annotated[int | None, Query(ge=1, le=100, description="Page size (default 20)")]
_ME_ERRORS: dict[int, OpenAPIResponse] = {
    401: {"description": "No or invalid token"},
    403: {"description": "Not in a platform group, or the X-Profile-Id profile is not yours"},
    404: {"description": "No such X-Profile-Id profile (code profile_not_found)"},
}


class InvalidHeartbeatBody(DomainError):
    status = 400
    code = "invalid_heartbeat"


_FIELD_CODES = {"state": "unknown_state", "position_seconds": "invalid_position"}


def _parse_heartbeat(text: str) -> Heartbeat:
    """The body as the contract says; every refusal is a 400 naming the field (never a 422:
    a beacon's sender cannot read the answer anyway, and a player's bug should read as one)."""
    if len(text.encode()) > MAX_HEARTBEAT_BYTES:
        raise PayloadTooLarge(f"a heartbeat is at most {MAX_HEARTBEAT_BYTES} bytes")
    try:
        document = parse_json_body(text) if text else None
    except json.JSONDecodeError:
        raise InvalidHeartbeatBody("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(document, dict):
        raise InvalidHeartbeatBody("the body must be a JSON object with state and position_seconds")
    try:
        return Heartbeat.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors()
        first = str(errors[0]["loc"][0]) if errors and errors[0].get("loc") else ""
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in errors
        ]
        raise InvalidHeartbeatBody(
            f"invalid heartbeat: {details[0]['field']}: {details[0]['message']}",
            code=_FIELD_CODES.get(first, "invalid_heartbeat"),
            details={"fields": details},
        ) from None


@router.post(
    HEARTBEAT_PATH.replace("{session_id}", "<session_id>"),
    summary="A playback session's heartbeat (the session token, not a JWT, authenticates it)",
    description=(
        "Body: state, position_seconds, sequence (rising; optional), token (optional: else "
        "Authorization: Bearer <session_token>), startup_time_ms, error {code, message}, cmcd "
        "(CTA-5004 keys). A JSON body sent as text/plain (navigator.sendBeacon) is accepted. "
        "One conditional write: a refused heartbeat changes nothing."
    ),
    responses={
        200: {"description": "Recorded", "content": {"application/json": {"model": HeartbeatAccepted}}},
        400: {
            "description": "Bad heartbeat (codes unknown_state, invalid_position, position_out_of_range, "
            "invalid_heartbeat, invalid_json)"
        },
        401: {"description": "No session token"},
        404: {"description": "No such session, or not this token's (code session_not_found)"},
        409: {
            "description": "Late (stale_heartbeat) or not allowed from the stored state (invalid_transition)"
        },
        410: {"description": "The session has ended (session_ended) or expired (session_expired)"},
        413: {"description": "Body too large"},
        415: {"description": "Neither application/json nor text/plain"},
        422: {"description": "Invalid path parameter"},
    },
    tags=["sessions"],
)
@tracer.capture_method
def post_heartbeat(session_id: SessionId) -> HeartbeatAccepted:
    event = router.current_event
    beat = _parse_heartbeat(event.decoded_body or "")
    logger.append_keys(session_id=session_id)
    return session_logic.heartbeat(
        session_id, beat, header_token=session_logic.bearer_token(event.headers.get("authorization"))
    )


def _caller(action: str) -> tuple[Principal, str | None]:
    raw = router.current_event.raw_event
    principal = principal_from_event(raw)
    authorize(principal, action)
    return principal, active_profile(principal, raw).profile_id


@router.get(
    "/v1/me/continue-watching",
    summary="Videos you (the active profile) are part-way through (5-95 %), newest first",
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": HistoryPage}}},
        400: {"description": "Invalid cursor"},
        **_ME_ERRORS,
        422: {"description": "Invalid query"},
    },
    tags=["history"],
)
@tracer.capture_method
def get_continue_watching(cursor: Cursor = None, limit: Limit = None) -> HistoryPage:
    principal, profile_id = _caller("history:read")
    return history_logic.continue_watching(principal.sub, profile_id, cursor=cursor, limit=limit)


@router.get(
    "/v1/me/history",
    summary="Your (the active profile's) watch history, newest first, cursor-paged",
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": HistoryPage}}},
        400: {"description": "Invalid cursor"},
        **_ME_ERRORS,
        422: {"description": "Invalid query"},
    },
    tags=["history"],
)
@tracer.capture_method
def get_history(cursor: Cursor = None, limit: Limit = None) -> HistoryPage:
    principal, profile_id = _caller("history:read")
    return history_logic.history(principal.sub, profile_id, cursor=cursor, limit=limit)


@router.delete(
    "/v1/me/history/<video_id>",
    summary="Remove one video from your history (and its resume point)",
    responses={
        204: {"description": "Removed (or was not there)"},
        **_ME_ERRORS,
        422: {"description": "Invalid id"},
    },
    tags=["history"],
)
@tracer.capture_method
def delete_history_entry(video_id: Annotated[str, Path(max_length=64)]) -> Response[None]:
    principal, profile_id = _caller("history:manage")
    history_logic.forget(principal.sub, profile_id, video_id)
    return Response(status_code=204)


@router.delete(
    "/v1/me/history",
    summary="Clear your (the active profile's) history",
    responses={204: {"description": "Cleared"}, **_ME_ERRORS},
    tags=["history"],
)
@tracer.capture_method
def delete_history() -> Response[None]:
    principal, profile_id = _caller("history:manage")
    removed = history_logic.forget_all(principal.sub, profile_id)
    logger.info("history cleared", extra={"entries": removed})
    return Response(status_code=204)


@router.get(
    "/v1/me/settings",
    summary="Your (the active profile's) viewing settings",
    responses={
        200: {"description": "Settings", "content": {"application/json": {"model": ViewerSettings}}},
        **_ME_ERRORS,
    },
    tags=["history"],
)
@tracer.capture_method
def get_settings() -> ViewerSettings:
    principal, profile_id = _caller("history:read")
    return history_logic.viewer_settings(principal.sub, profile_id)


@router.patch(
    "/v1/me/settings",
    summary="Change your (the active profile's) settings: history_paused stops recording history",
    responses={
        200: {"description": "Settings", "content": {"application/json": {"model": ViewerSettings}}},
        **_ME_ERRORS,
        400: {"description": "Not JSON"},
        415: {"description": "Not application/json"},
        422: {"description": "Invalid settings"},
    },
    tags=["history"],
)
@tracer.capture_method
def patch_settings(request: Annotated[ViewerSettingsPatch, Body()]) -> ViewerSettings:
    principal, profile_id = _caller("history:manage")
    return history_logic.update_settings(principal.sub, profile_id, history_paused=request.history_paused)


__all__ = ["router"]
