"""Who is calling: the principal from the JWT claims API Gateway (or the local front) verified.

API Gateway's JWT authorizer has already checked signature, issuer, audience and expiry; the
function only reads the claims. Roles come from Cognito groups (``cognito:groups``), which API
Gateway flattens to a string such as ``"[admin uploader]"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from functions.shared.errors import Forbidden, Unauthorized

ROLES = ("admin", "uploader", "viewer")


@dataclass(frozen=True)
class Principal:
    sub: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def require_any(self, *roles: str) -> None:
        if not self.roles.intersection(roles):
            raise Forbidden(f"this action needs one of the roles: {', '.join(roles)}")


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
    roles = _parse_groups(claims.get("cognito:groups")) & frozenset(ROLES)
    return Principal(sub=str(claims["sub"]), roles=roles)
