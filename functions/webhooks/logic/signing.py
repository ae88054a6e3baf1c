"""Webhook signatures: how a subscriber knows a request came from this platform, unaltered.

The scheme
----------
Every delivery is an HTTPS ``POST`` with a JSON body and the header::

    X-Signature: t=<timestamp>,v1=<signature>

``<timestamp>`` is the Unix time in seconds when the request was signed. ``<signature>`` is the
lower-case hex HMAC-SHA256 of the *signed payload*, keyed with the webhook's secret::

    signed_payload = "<timestamp>" + "." + <raw request body bytes>
    signature      = hex(HMAC_SHA256(key=secret, message=signed_payload))

The key is the secret exactly as returned once at registration, ``whsec_`` prefix included,
encoded as UTF-8.

What a subscriber must do
-------------------------
1. Read the **raw** body bytes before any JSON parsing: re-serialising changes the bytes and
   breaks the signature.
2. Split the header on ``,`` into ``key=value`` pairs; take ``t`` and every ``v1`` (more than one
   ``v1`` may appear in the future, e.g. while a secret is rotated: accept if any matches).
3. Compute the expected signature as above and compare it with a constant-time comparison
   (``hmac.compare_digest`` in Python, ``crypto.timingSafeEqual`` in Node.js).
4. Reject the request when ``t`` is more than 5 minutes away from your clock (replay protection).
5. Deduplicate on the ``X-Event-Id`` header (also the body's ``id``): delivery is at least once.

Answer with any 2xx status quickly; other statuses count as failures. 429 and 5xx are retried
with exponential backoff, other statuses and redirects are not.

``verify`` below is the reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SCHEME = "v1"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
DEFAULT_TOLERANCE_S = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    payload = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Signature`` header value for ``body`` signed at ``timestamp`` (Unix seconds)."""
    return f"t={int(timestamp)},{SCHEME}={_digest(secret, int(timestamp), body)}"


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return None, []
        elif key == SCHEME:
            signatures.append(value)
    return timestamp, signatures


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when ``header`` is a valid signature of ``body`` with ``secret``, made within
    ``tolerance_s`` seconds of ``now`` (either side)."""
    timestamp, signatures = _parse(header or "")
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _digest(secret, timestamp, body)
    # Check every candidate (no early exit) so timing does not reveal which one matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched
