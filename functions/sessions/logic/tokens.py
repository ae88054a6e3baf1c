"""Session ids and session tokens.

The token is the session's own credential (a page's last beacon carries it without any header):
256 random bits, shown once in the playback response; the table stores only its SHA-256, so a
read of the table cannot be turned into a heartbeat. A plain hash is enough for a random secret
of that size (no dictionary to guess from); the comparison happens in DynamoDB's condition.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

SESSION_ID_RE = re.compile(r"^ses_[A-Za-z0-9_-]{22,64}$")


def new_session_id() -> str:
    return "ses_" + secrets.token_urlsafe(16)  # 22 url-safe characters


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)
