"""The active viewer profile's audience ceiling: what a request may see, by the profile it names.

Viewer profiles narrow what a viewer sees: ``audience_ceiling`` returns the active profile's
age ceiling (see functions/shared/ratings.py), or None when unrestricted. The client picks the
profile per request (``X-Profile-Id``), as a streaming app's "who is watching?" screen does: it
is the viewer's choice within their own account, not a second identity (the token is that).
Catalog reads and playback ask this; the profiles are identity's, so the question is too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.identity.dal import profiles as profile_store
from functions.shared.auth import Principal
from functions.shared.authz import authorize

PROFILE_HEADER = "x-profile-id"  # API Gateway (payload 2.0) lower-cases header names


def names_a_profile(event: dict[str, Any]) -> bool:
    """Whether the request selects a profile (``audience_ceiling`` then makes one read)."""
    return any(name.lower() == PROFILE_HEADER for name in event.get("headers") or {})


@dataclass(frozen=True)
class ActiveProfile:
    profile_id: str | None  # None: no X-Profile-Id (the account itself)
    ceiling: int | None  # None: unrestricted


def active_profile(principal: Principal, event: dict[str, Any]) -> ActiveProfile:
    """The profile the request names and its ceiling (one GetItem when it names one): 404 for an
    unknown profile, 403 for another user's."""
    headers = event.get("headers") or {}
    profile_id = next((v for k, v in headers.items() if k.lower() == PROFILE_HEADER), None)
    if profile_id is None:
        return ActiveProfile(None, None)
    profile = profile_store.get(profile_id.strip())
    authorize(principal, "profiles:use", owner=profile.owner_sub)
    ceiling = int(profile.age_ceiling) if profile.age_ceiling is not None else None
    return ActiveProfile(profile_id.strip(), ceiling)


def audience_ceiling(principal: Principal, event: dict[str, Any]) -> int | None:
    """The active viewer profile's age ceiling, or None when unrestricted.

    No ``X-Profile-Id`` header: unrestricted, and no read. With one: one GetItem; an unknown
    profile is 404 (``profile_not_found``), another user's is 403.
    """
    headers = event.get("headers") or {}
    profile_id = next((v for k, v in headers.items() if k.lower() == PROFILE_HEADER), None)
    if profile_id is None:
        return None
    profile = profile_store.get(profile_id.strip())
    authorize(principal, "profiles:use", owner=profile.owner_sub)
    return int(profile.age_ceiling) if profile.age_ceiling is not None else None
