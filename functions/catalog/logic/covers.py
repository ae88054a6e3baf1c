"""Covers, the API side: a presigned S3 POST for a title's cover or backdrop (no Pillow here).

The upload lands in the upload bucket at ``covers/<title_id>/<kind>/<upload_id>``; its bucket
notification feeds the covers queue and the ``covers-renderer`` function
(``logic.covers_render``), which checks it and records the outcome on the title. Nothing is
written to the title now: the slot keeps showing the last processed upload until this one is.

A POST policy, not a presigned PUT: the policy binds the key, the content type and a
``content-length-range`` of 1 to the declared size, which S3 enforces on the upload itself; a
presigned PUT cannot bound the body. The renderer checks the size again (and everything else).
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

from functions.catalog.dal import titles
from functions.catalog.logic.covers_contract import (
    MAX_COVER_BYTES,
    CoverUploadRequest,
    CoverUploadResponse,
    CoverUploadTarget,
)
from functions.shared.auth import Principal
from functions.shared.authz import authorize
from functions.shared.aws import client
from functions.shared.errors import NotFound, PayloadTooLarge
from functions.shared.keys import cover_upload_key
from functions.shared.settings import get_settings

ACTION = "titles:cover"


_last_ms = 0
_ids_lock = threading.Lock()


def new_upload_id() -> str:
    """32 hex characters that sort in time: milliseconds since the epoch, then 80 random bits.

    Within one process the millisecond part never repeats (it runs ahead of the clock if it must),
    so ids issued one after the other always sort in that order.
    """
    global _last_ms
    with _ids_lock:
        _last_ms = max(time.time_ns() // 1_000_000, _last_ms + 1)
        ms = _last_ms
    return f"{ms:012x}{secrets.token_hex(10)}"


def create_cover_upload(
    principal: Principal, title_id: str, request: CoverUploadRequest
) -> CoverUploadResponse:
    authorize(principal, ACTION)  # the role alone: a viewer learns nothing about the title
    title = titles.find_title(title_id)
    if title is None:
        raise NotFound(f"title {title_id} not found", code="title_not_found")
    authorize(principal, ACTION, owner=title.owner)
    if request.size > MAX_COVER_BYTES:
        raise PayloadTooLarge(
            f"the image is {request.size} bytes; the limit is {MAX_COVER_BYTES} bytes", code="cover_too_large"
        )
    settings = get_settings()
    upload_id = new_upload_id()
    kind = request.kind.value
    post = client("s3").generate_presigned_post(
        Bucket=settings.upload_bucket,
        Key=cover_upload_key(title_id, kind, upload_id),
        Fields={"Content-Type": request.content_type},
        Conditions=[{"Content-Type": request.content_type}, ["content-length-range", 1, request.size]],
        ExpiresIn=settings.upload_url_ttl_seconds,
    )
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.upload_url_ttl_seconds)
    return CoverUploadResponse(
        title_id=title_id,
        kind=request.kind,
        upload_id=upload_id,
        upload=CoverUploadTarget(
            url=post["url"],
            fields={str(k): str(v) for k, v in post["fields"].items()},
            max_bytes=request.size,
            expires_at=expires_at.isoformat(timespec="seconds"),
        ),
    )
