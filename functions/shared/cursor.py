"""Opaque, tamper-proof listing cursors, for every listing that pages (catalog browse, a
creator's videos, the admin's status listing).

A cursor is ``base64url(JSON).base64url(HMAC-SHA256(key, JSON part))``. The JSON names the
listing it belongs to (``scope``: the partition and filters) and where the next page starts.
A cursor that was altered, signed with another key, or replayed against another listing is
refused (``invalid_cursor``, 400), so a client can neither forge a position nor read a listing
it did not ask for (e.g. an adult band's partition from a kids profile).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from functions.shared.errors import DomainError
from functions.shared.secrets import catalog_cursor_key
from functions.shared.settings import get_settings

# The key's derivation context: kept from when only the catalog signed cursors, so that cursors
# issued before the move stay valid. Listings are kept apart by their ``scope``.
_CONTEXT = b"vod catalog cursor v1"


class InvalidCursor(DomainError):
    status = 400
    code = "invalid_cursor"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(scope: str, position: dict[str, Any], *, key: bytes) -> str:
    body = json.dumps({"s": scope, "p": position}, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def decode(cursor: str, scope: str, *, key: bytes) -> dict[str, Any]:
    """The position inside ``scope``; ``InvalidCursor`` for anything else."""
    try:
        body_part, mac_part = cursor.split(".", 1)
        body, mac = _unb64(body_part), _unb64(mac_part)
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursor("the cursor is malformed") from exc
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        raise InvalidCursor("the cursor was not issued by this service")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise InvalidCursor("the cursor is malformed") from exc
    if not isinstance(payload, dict) or payload.get("s") != scope or not isinstance(payload.get("p"), dict):
        raise InvalidCursor("the cursor belongs to another listing")
    position: dict[str, Any] = payload["p"]
    return position


@lru_cache(maxsize=4)
def _derived(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def signing_key() -> bytes:
    """``CATALOG_CURSOR_KEY`` when the deployer sets one (benchmarks), else the cursors' own
    secret: never the CloudFront signing key, which would make one secret key two things."""
    settings = get_settings()
    if settings.catalog_cursor_key:
        return _derived(settings.catalog_cursor_key)
    return _derived(catalog_cursor_key())
