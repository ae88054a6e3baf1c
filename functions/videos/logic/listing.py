"""Video listings: a creator's own videos (``GET /v1/me/videos``) and, for admins, the videos in one
status (``GET /v1/videos?status=...``). Each page is one Query on an index of the videos table
(by-owner: newest created first; by-status: most recently changed first), never a Scan.

The page cursor is the Query's last evaluated key, signed and bound to its listing
(functions/shared/cursor.py): a client can neither forge a position nor replay one user's cursor
against another's listing. Videos created while a client pages sort in front of the page it holds,
so paging on never repeats or skips one.
"""

from __future__ import annotations

from typing import Any

from functions.shared import cursor
from functions.shared.auth import Principal
from functions.shared.authz import authorize, permits
from functions.shared.errors import DomainError
from functions.videos.dal import videos as dal
from functions.videos.logic.videos import to_view
from functions.videos.models import VideoPage, VideoStatus

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# The key attributes of each index's last evaluated key: a cursor carrying anything else is refused.
_OWNER_KEY = ("video_id", "owner_sub", "created_at")
_STATUS_KEY = ("video_id", "status", "updated_at")


class BadListingRequest(DomainError):
    status = 400
    code = "bad_request"


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise BadListingRequest(f"limit must be an integer from 1 to {MAX_LIMIT}", code="invalid_limit")
    return limit


def parse_status(raw: str | None) -> VideoStatus:
    try:
        return VideoStatus(raw or "")
    except ValueError:
        raise BadListingRequest(
            f"status must be one of: {', '.join(s.value for s in VideoStatus)}", code="invalid_status"
        ) from None


def _start_key(raw: str | None, scope: str, names: tuple[str, ...]) -> dict[str, Any] | None:
    if not raw:
        return None
    position = cursor.decode(raw, scope, key=cursor.signing_key())
    key = position.get("k")
    if (
        not isinstance(key, dict)
        or set(key) != set(names)
        or not all(isinstance(v, str) for v in key.values())
    ):
        raise cursor.InvalidCursor("the cursor is malformed")
    return {name: {"S": key[name]} for name in names}


def _next_cursor(last_key: dict[str, Any] | None, scope: str, names: tuple[str, ...]) -> str | None:
    if not last_key:
        return None
    plain = {name: last_key[name]["S"] for name in names}
    return cursor.encode(scope, {"k": plain}, key=cursor.signing_key())


def list_mine(principal: Principal, *, limit: str | None, after: str | None) -> VideoPage:
    """The caller's videos in every status (DELETED included: the record is kept), newest first."""
    authorize(principal, "videos:list_mine")
    size = parse_limit(limit)
    scope = f"me-videos:{principal.sub}"
    items, last = dal.owner_page(principal.sub, limit=size, start_key=_start_key(after, scope, _OWNER_KEY))
    evidence = permits(principal, "videos:read_evidence")
    return VideoPage(
        items=[to_view(item, evidence=evidence) for item in items],
        next_cursor=_next_cursor(last, scope, _OWNER_KEY),
    )


def list_in_status(
    principal: Principal, *, status: str | None, limit: str | None, after: str | None
) -> VideoPage:
    """Admins: every owner's videos in one status, most recently changed first."""
    authorize(principal, "videos:list_all")
    wanted = parse_status(status)
    size = parse_limit(limit)
    scope = f"videos-by-status:{wanted.value}"
    items, last = dal.status_page(wanted, limit=size, start_key=_start_key(after, scope, _STATUS_KEY))
    return VideoPage(
        items=[to_view(item, evidence=True) for item in items],
        next_cursor=_next_cursor(last, scope, _STATUS_KEY),
    )
