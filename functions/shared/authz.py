"""Authorization: the one module that decides who may do what.

Every route asks ``authorize(principal, action, owner=...)``; nothing else in the code base
compares roles. The policy is a table (action -> roles, and whether non-admins must own the
resource), so the tests can walk every action and role. An action missing from the table is
denied, and so is a caller in none of the platform's groups.

``owner_only`` rules are asked twice where the resource must be loaded first: once without an
owner (the role alone: a forbidden role gets its 403 before learning whether the resource
exists) and once with the loaded resource's owner.

Viewer profiles narrow what a viewer sees through the ``profiles:use`` rule; the active profile's
ceiling is identity's to read (functions/identity/logic/audience.py). This module imports no
domain: it is the ground floor every domain stands on.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.shared.auth import Principal
from functions.shared.errors import Forbidden

ADMIN = "admin"
UPLOADER = "uploader"
VIEWER = "viewer"
_ANY_ROLE = frozenset({ADMIN, UPLOADER, VIEWER})
_CREATORS = frozenset({ADMIN, UPLOADER})
_ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    owner_only: bool = False  # non-admins may act only on resources they own


POLICY: dict[str, Rule] = {
    # catalog
    "titles:create": Rule(_CREATORS),
    "titles:update": Rule(_CREATORS, owner_only=True),
    "titles:publish": Rule(_CREATORS, owner_only=True),
    "titles:delete": Rule(_CREATORS, owner_only=True),
    "titles:read_draft": Rule(_CREATORS, owner_only=True),
    "titles:read": Rule(_ANY_ROLE),
    "titles:cover": Rule(_CREATORS, owner_only=True),  # upload a cover or backdrop image
    "titles:bind_video": Rule(_CREATORS, owner_only=True),  # a movie or an episode plays this video
    # videos
    "videos:create": Rule(_CREATORS),
    "videos:read": Rule(_ANY_ROLE),  # a READY video
    "videos:read_unpublished": Rule(_CREATORS, owner_only=True),  # any other status
    "videos:read_evidence": Rule(_ADMINS),  # what each moderation check found
    "videos:play": Rule(_ANY_ROLE),
    "videos:retry": Rule(_CREATORS, owner_only=True),
    "videos:update": Rule(_CREATORS, owner_only=True),  # PATCH: visibility
    # video management (issue 13)
    "videos:list_mine": Rule(_CREATORS),  # GET /v1/me/videos: the caller's own, any status
    "videos:list_all": Rule(_ADMINS),  # GET /v1/videos?status=: every owner's
    "videos:delete": Rule(_CREATORS, owner_only=True),  # DELETE /v1/videos/{id}: takedown
    # moderation
    "moderation:read_queue": Rule(_ADMINS),
    "moderation:decide": Rule(_ADMINS),
    "moderation:protect": Rule(_ADMINS),
    # webhooks
    "webhooks:create": Rule(_CREATORS),
    "webhooks:list": Rule(_CREATORS),
    "webhooks:manage": Rule(_CREATORS, owner_only=True),  # read, delete, deliveries
    "webhooks:hear_all_videos": Rule(_ADMINS),  # a webhook scoped to every owner's videos
    # viewer profiles
    "profiles:manage": Rule(_ANY_ROLE, owner_only=True),
    "profiles:use": Rule(_ANY_ROLE, owner_only=True),  # select one with X-Profile-Id
    # watch history, continue-watching and viewing settings: always the caller's own (/v1/me)
    "history:read": Rule(_ANY_ROLE),
    "history:manage": Rule(_ANY_ROLE),
}


def _denial(principal: Principal, action: str, owner: str | None) -> str | None:
    """Why ``principal`` may not perform ``action``, or None when it may."""
    rule = POLICY.get(action)
    if rule is None:
        return f"unknown action {action!r}"  # deny by default
    if not principal.roles & rule.roles:
        return f"{action} needs one of the roles: {', '.join(sorted(rule.roles))}"
    if rule.owner_only and owner is not None and owner != principal.sub and ADMIN not in principal.roles:
        return f"{action}: only the owner or an admin may do this"
    return None


def authorize(principal: Principal, action: str, *, owner: str | None = None) -> None:
    """Raise Forbidden unless ``principal`` may perform ``action`` (on a resource owned by ``owner``)."""
    reason = _denial(principal, action, owner)
    if reason is not None:
        raise Forbidden(reason)


def permits(principal: Principal, action: str, *, owner: str | None = None) -> bool:
    """``authorize`` as a question, for choices that are not refusals (what a response shows)."""
    return _denial(principal, action, owner) is None
