"""The documented signature scheme: t=<ts>,v1=hex(HMAC-SHA256(secret, "<ts>." + body))."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from functions.webhooks.logic.signing import new_secret, sign, verify

SECRET = "whsec_test-secret"
BODY = b'{"id":"evt-1","type":"video.ready","created_at":"2026-11-21T12:00:00Z","data":{"video_id":"v"}}'
NOW = 1_795_291_515


def test_header_has_the_documented_format_and_value() -> None:
    # Given a body signed at a known time
    header = sign(SECRET, NOW, BODY)

    # Then the header is t=<ts>,v1=<64 hex> and v1 is the HMAC the docstring describes
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header)
    assert match, header
    assert int(match.group(1)) == NOW
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert match.group(2) == expected


def test_a_fresh_signature_verifies() -> None:
    # Given a header signed now
    header = sign(SECRET, NOW, BODY)

    # When the subscriber verifies it a few seconds later, Then it is valid
    assert verify(SECRET, header, BODY, now=NOW + 5)


def test_an_altered_body_fails() -> None:
    # Given a valid signature
    header = sign(SECRET, NOW, BODY)

    # When one byte of the body changes (or a byte is added), Then verification fails
    assert not verify(SECRET, header, BODY.replace(b"video.ready", b"video.reddy"), now=NOW)
    assert not verify(SECRET, header, BODY + b" ", now=NOW)


def test_an_altered_timestamp_fails() -> None:
    # Given a valid header whose timestamp is moved by one second (still within tolerance)
    header = sign(SECRET, NOW, BODY)
    moved = header.replace(f"t={NOW}", f"t={NOW + 1}")

    # Then the signature no longer matches
    assert not verify(SECRET, moved, BODY, now=NOW)


def test_another_secret_fails() -> None:
    header = sign(SECRET, NOW, BODY)
    assert not verify("whsec_other", header, BODY, now=NOW)


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_timestamps_outside_the_tolerance_fail(age: int) -> None:
    # Given a correctly signed request made `age` seconds before now (negative: in the future)
    header = sign(SECRET, NOW - age, BODY)

    # Then it is refused as a replay, although the HMAC itself is right
    assert not verify(SECRET, header, BODY, now=NOW)


def test_tolerance_is_inclusive_and_configurable() -> None:
    header = sign(SECRET, NOW - 300, BODY)
    assert verify(SECRET, header, BODY, now=NOW)
    assert not verify(SECRET, header, BODY, now=NOW, tolerance_s=60)


@pytest.mark.parametrize(
    "header",
    ["", "garbage", f"t={NOW}", "v1=" + "0" * 64, f"t=abc,v1={'0' * 64}", f"t={NOW},v0=abc"],
)
def test_malformed_headers_fail(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=NOW)


def test_any_matching_v1_is_accepted_for_secret_rotation() -> None:
    # Given a header with a stale signature first and the right one second
    good = sign(SECRET, NOW, BODY).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good}"

    # Then it verifies
    assert verify(SECRET, header, BODY, now=NOW)


def test_verify_uses_the_clock_when_now_is_not_given() -> None:
    import time

    assert verify(SECRET, sign(SECRET, int(time.time()), BODY), BODY)


def test_secrets_are_prefixed_random_and_long() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(secret) >= len("whsec_") + 43  # 32 random bytes, base64url
