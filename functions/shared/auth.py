"""Who is calling: the principal from the JWT claims API Gateway (or the local front) verified.

API Gateway's JWT authorizer has already checked signature, issuer, audience and expiry; the
function only reads the claims. Roles come from Cognito groups (``cognito:groups``), which API
Gateway flattens to a string such as ``"[admin uploader]"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from functions.shared.errors import Unauthorized

ROLES = ("admin", "uploader", "viewer")
# Cognito groups that are plans, not roles: what an account is entitled to (the ``priority`` plan
# uploads in the priority class, functions/videos/logic/priority.py). Admins hold every plan.
PLANS = ("priority",)


@dataclass(frozen=True)
class Principal:
    """Who is calling. What they may do is decided in one place: functions/shared/authz.py."""

    sub: str
    roles: frozenset[str]
    plans: frozenset[str] = frozenset()


def _parse_groups(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return frozenset(str(v) for v in parsed)
        except ValueError:
            pass
        text = text[1:-1]
    return frozenset(part for part in text.replace(",", " ").split() if part)


def principal_from_event(event: dict[str, Any]) -> Principal:
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims")
    if not claims or not claims.get("sub"):
        raise Unauthorized("a valid bearer token is required")
    groups = _parse_groups(claims.get("cognito:groups"))
    roles = groups & frozenset(ROLES)
    plans = frozenset(PLANS) if "admin" in roles else groups & frozenset(PLANS)
    return Principal(sub=str(claims["sub"]), roles=roles, plans=plans)
