"""Covers, the renderer side: one uploaded image -> WebP renditions in the media bucket, and the
outcome recorded in the title's ``images.<kind>`` slot (see ``covers_contract`` for its shape).

Steps for ``covers/<title_id>/<kind>/<upload_id>``:

1. Read at most ``MAX_COVER_BYTES + 1`` bytes of the upload (a bigger one is ``too_large``
   without reading the rest).
2. ``covers_image.render_image``: refuse or make the renditions; write them to
   ``images/titles/<title_id>/<kind>/<upload_id>/w<width>.webp`` (immutable, served by the CDN
   without signed URLs).
3. Record the outcome, unless the slot already holds a newer upload (upload ids sort in time) or
   the title is gone: then the renditions just written are deleted again. The record is a
   compare-and-set on the slot (``dal.covers.replace_slot``), re-decided when it lost a race.
4. A ready image replaces the previous one, whose renditions are deleted; a rejected one keeps
   the previous image on show.
5. The upload is deleted: the original, with its EXIF and GPS, is not kept.

At-least-once delivery: a repeat finds the upload gone (``missing``), or the slot already
holding this upload id (``duplicate``: the renditions it rewrote are the same bytes under the
same keys), and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from functions.catalog.dal import covers as covers_dal
from functions.catalog.logic.covers_contract import MAX_COVER_BYTES
from functions.catalog.logic.covers_image import ImageRejected, RenderedImage, render_image
from functions.catalog.models import ImageSlot
from functions.shared.aws import client
from functions.shared.clock import now_iso
from functions.shared.errors import TransientError
from functions.shared.keys import image_rendition_key, parse_cover_upload_key
from functions.shared.observability import logger
from functions.shared.settings import get_settings

# An image is immutable under its key (the upload id is in it): browsers and CloudFront keep it.
CACHE_CONTROL = "public, max-age=31536000, immutable"
_SHOWN = ("url", "width", "height", "renditions")  # what a rejection carries over from the slot
_RACE_ATTEMPTS = 5


@dataclass(frozen=True)
class CoverOutcome:
    """``action``: ready | rejected (recorded), superseded | duplicate | title_gone (not recorded),
    missing (the upload is gone: already processed) or ignored (not a cover key)."""

    action: str
    title_id: str = ""
    kind: str = ""
    upload_id: str = ""
    reason: str = ""


def process_cover_upload(*, bucket: str, key: str, size: int | None = None) -> CoverOutcome:
    parsed = parse_cover_upload_key(key)
    if parsed is None or parsed[1] not in set(ImageSlot):
        logger.warning("not a cover upload key", extra={"key": key})
        return CoverOutcome("ignored")
    title_id, kind, upload_id = parsed
    logger.append_keys(title_id=title_id, image_kind=kind, upload_id=upload_id)

    record: dict[str, Any]
    written: list[str] = []
    try:
        data = _read_upload(bucket, key, size)
        if data is None:
            logger.info("cover upload already processed")
            return CoverOutcome("missing", title_id, kind, upload_id)
        rendered = render_image(data, max_bytes=MAX_COVER_BYTES)
    except ImageRejected as rejected:
        logger.info("cover refused", extra={"reason": rejected.reason})
        record = {
            "status": "rejected",
            "upload_id": upload_id,
            "updated_at": now_iso(),
            "reason": rejected.reason,
            "message": rejected.human,
        }
    else:
        record, written = _publish(title_id, kind, upload_id, rendered)

    action, previous = _settle(title_id, kind, upload_id, record)
    if action in ("superseded", "title_gone"):
        _delete_media(written)
    elif action == "recorded" and record["status"] == "ready" and previous:
        stale = [r["key"] for r in previous.get("renditions") or [] if r.get("key") not in set(written)]
        _delete_media(stale)
    client("s3").delete_object(Bucket=bucket, Key=key)
    outcome = record["status"] if action == "recorded" else action
    logger.info("cover processed", extra={"outcome": outcome})
    return CoverOutcome(outcome, title_id, kind, upload_id, str(record.get("reason", "")))


def _read_upload(bucket: str, key: str, size: int | None) -> bytes | None:
    """The upload's bytes, never more than the limit + 1 of them; None when it is gone."""
    if size is not None and size > MAX_COVER_BYTES:
        raise ImageRejected("too_large", f"the image is {size} bytes; the limit is {MAX_COVER_BYTES}")
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    try:
        data: bytes = body.read(MAX_COVER_BYTES + 1)
    finally:
        body.close()
    if len(data) > MAX_COVER_BYTES:
        raise ImageRejected("too_large", f"the image is more than {MAX_COVER_BYTES} bytes")
    return data


def _publish(
    title_id: str, kind: str, upload_id: str, rendered: RenderedImage
) -> tuple[dict[str, Any], list[str]]:
    """Write the renditions to the media bucket; the ready record that points at them."""
    settings = get_settings()
    s3 = client("s3")
    renditions: list[dict[str, Any]] = []
    for rendition in rendered.renditions:
        key = image_rendition_key(title_id, kind, upload_id, rendition.width)
        s3.put_object(
            Bucket=settings.media_bucket,
            Key=key,
            Body=rendition.data,
            ContentType=rendition.content_type,
            CacheControl=CACHE_CONTROL,
        )
        renditions.append(
            {
                "width": rendition.width,
                "height": rendition.height,
                "url": f"{settings.cdn_base_url.rstrip('/')}/{key}",
                "key": key,
            }
        )
    widest = renditions[-1]
    record = {
        "status": "ready",
        "upload_id": upload_id,
        "updated_at": now_iso(),
        "url": widest["url"],
        "width": widest["width"],
        "height": widest["height"],
        "renditions": renditions,
    }
    return record, [r["key"] for r in renditions]


def _settle(
    title_id: str, kind: str, upload_id: str, record: dict[str, Any]
) -> tuple[str, dict[str, Any] | None]:
    """Record ``record`` in the slot unless a newer upload is there: (action, previous slot)."""
    for _ in range(_RACE_ATTEMPTS):
        exists, current = covers_dal.read_slot(title_id, kind)
        if not exists:
            return "title_gone", None
        current_id = str(current.get("upload_id") or "") if current else ""
        if current_id > upload_id:
            return "superseded", current
        if current_id == upload_id:
            return "duplicate", current
        to_write = record
        if record["status"] == "rejected" and current:
            to_write = {**{k: current[k] for k in _SHOWN if k in current}, **record}
        try:
            covers_dal.replace_slot(title_id, kind, to_write, replaces=current_id or None)
        except covers_dal.SlotMoved:
            continue  # another writer got there first: read again and decide again
        return "recorded", current
    raise TransientError(f"images.{kind} of title {title_id} kept changing")


def _delete_media(keys: list[str]) -> None:
    if not keys:
        return
    client("s3").delete_objects(
        Bucket=get_settings().media_bucket,
        Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
    )
