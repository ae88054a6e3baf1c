"""Listing cursors: opaque, signed, bound to one listing."""

from __future__ import annotations

import base64
import json

import pytest

from functions.shared.cursor import InvalidCursor, decode, encode

KEY = b"k" * 32
SCOPE = "list|L#18#all||"


def test_round_trip() -> None:
    cursor = encode(SCOPE, {"sk": "2026-01-01T00:00:00.000Z#abc"}, key=KEY)
    assert decode(cursor, SCOPE, key=KEY) == {"sk": "2026-01-01T00:00:00.000Z#abc"}


def test_cursor_is_opaque_text_without_the_key() -> None:
    cursor = encode(SCOPE, {"sk": "x"}, key=KEY)
    assert "L#18" not in cursor and "=" not in cursor


def _tamper(cursor: str, position: dict[str, str]) -> str:
    body, mac = cursor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["p"] = position
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{forged}.{mac}"


def test_a_changed_position_is_refused() -> None:
    cursor = encode(SCOPE, {"sk": "2026-01-01#a"}, key=KEY)
    with pytest.raises(InvalidCursor) as raised:
        decode(_tamper(cursor, {"sk": "2030-01-01#z"}), SCOPE, key=KEY)
    assert raised.value.status == 400 and raised.value.code == "invalid_cursor"


def test_a_flipped_signature_character_is_refused() -> None:
    cursor = encode(SCOPE, {"sk": "x"}, key=KEY)
    last = "A" if cursor[-1] != "A" else "B"
    with pytest.raises(InvalidCursor):
        decode(cursor[:-1] + last, SCOPE, key=KEY)


def test_another_key_is_refused() -> None:
    cursor = encode(SCOPE, {"sk": "x"}, key=b"other key")
    with pytest.raises(InvalidCursor):
        decode(cursor, SCOPE, key=KEY)


def test_a_cursor_replayed_on_another_listing_is_refused() -> None:
    # Given a cursor of the unrestricted listing
    cursor = encode(SCOPE, {"sk": "x"}, key=KEY)
    # Then the kids band's listing does not accept it
    with pytest.raises(InvalidCursor, match="another listing"):
        decode(cursor, "list|L#07#all||", key=KEY)


@pytest.mark.parametrize("garbage", ["", "nodot", "!!!.???", "e30.e30", "a.b.c"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        decode(garbage, SCOPE, key=KEY)


def test_the_signing_key_is_the_cursors_own_secret_never_the_cloudfront_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 12, point 10: with no CATALOG_CURSOR_KEY the key was derived from the CloudFront
    # private key, so whoever held one secret held the other's power.
    from functions.shared import cursor as module
    from functions.shared import secrets
    from functions.shared.settings import get_settings

    monkeypatch.delenv("CATALOG_CURSOR_KEY", raising=False)
    get_settings.cache_clear()
    module._derived.cache_clear()
    read: list[str] = []
    monkeypatch.setattr(secrets, "cloudfront_private_key", lambda: read.append("cloudfront") or "pem")
    monkeypatch.setattr(module, "catalog_cursor_key", lambda: read.append("cursor") or "cursor-secret")
    try:
        key = module.signing_key()
    finally:
        get_settings.cache_clear()
    assert read == ["cursor"]
    assert key == module._derived("cursor-secret") != module._derived("pem")
    # A cursor signed with a key derived from the CloudFront key is refused
    forged = encode(SCOPE, {"sk": "x"}, key=module._derived("pem"))
    with pytest.raises(InvalidCursor):
        decode(forged, SCOPE, key=key)
