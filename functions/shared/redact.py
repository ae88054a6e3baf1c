"""One redactor for anything that may hold a presigned URL or a credential (tool argv, stderr,
exception text): every URL loses its query string, and signing parameters or Authorization
values found anywhere else are masked. Used before text reaches a log or a user-visible record."""

from __future__ import annotations

import re

_URL_QUERY = re.compile(r"(?i)\b((?:https?|s3|rtmp|wss?)://[^\s?#\"'<>]*)\?[^\s\"'<>]*")
_SIGNING = re.compile(
    r"(?i)\b(X-Amz-[A-Za-z-]+|Signature|Key-Pair-Id|Policy|AWSAccessKeyId|Expires)=[^&\s\"'<>]*"
)
_AUTHORIZATION = re.compile(r"(?i)\b(Authorization|X-Amz-Security-Token)(\s*[:=]\s*)[^\r\n\"']*")
_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_URL = re.compile(r"(?i)\b(?:https?|s3|rtmp|wss?)://\S+")


def redact(text: str) -> str:
    """``text`` with URL query strings, signing parameters, Authorization values and access key
    ids replaced by ``[REDACTED]`` (the URL's scheme, host and path stay, for debugging)."""
    text = _URL_QUERY.sub(r"\1?[REDACTED]", text)
    text = _SIGNING.sub(r"\1=[REDACTED]", text)
    text = _AUTHORIZATION.sub(r"\1\2[REDACTED]", text)
    return _ACCESS_KEY.sub("[REDACTED]", text)


def safe_user_text(text: str, *, limit: int = 500) -> str:
    """Second line of defence for text shown to a user: redacted, with no URL at all (even
    redacted: it names internal buckets), and bounded in length."""
    text = _URL.sub("[link removed]", redact(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"
