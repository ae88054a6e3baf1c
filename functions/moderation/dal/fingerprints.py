"""Frame fingerprints and the protected-content registry, on the ``platform`` table.

Layout (``pk`` / ``sk``):

* ``VIDEO#<video_id>`` / ``FINGERPRINT``: the sampled frames' hashes of one video.
* ``PROTECTED#<shard>`` / ``<video_id>``: a copy of them for each protected video. The registry
  is read whole for every upload, so it is spread over :data:`SHARDS` partitions (shard from
  the id's first two hex digits) and read with one Query per shard, never a Scan of the table
  that also holds webhooks and every video's fingerprints.

Hashes are stored as one string ``"t:hex,t:hex,..."`` (~23 bytes a frame): 300 frames are 7 KB,
the cap of :data:`MAX_FRAMES` frames 46 KB, far below DynamoDB's 400 KB item limit.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from functions.shared.clock import now_iso
from functions.shared.platform_tables import PlatformItem
from functions.shared.table_binding import TableBinding

SHARDS = 8
MAX_FRAMES = 2000
FINGERPRINT_SK = "FINGERPRINT"
_HEX = re.compile(r"^[0-9a-f]{16}$")


class FingerprintModel(PlatformItem):
    """``pk`` VIDEO#<video_id>, ``sk`` FINGERPRINT."""

    class Meta:
        table_name = "vod-platform"  # replaced from settings at first use (_BINDING)
        billing_mode = "PAY_PER_REQUEST"

    hashes = UnicodeAttribute()
    interval = NumberAttribute()
    frames = NumberAttribute()
    created_at = UnicodeAttribute()


class ProtectedModel(PlatformItem):
    """``pk`` PROTECTED#<shard>, ``sk`` <video_id>."""

    class Meta:
        table_name = "vod-platform"
        billing_mode = "PAY_PER_REQUEST"

    hashes = UnicodeAttribute()
    interval = NumberAttribute()
    frames = NumberAttribute()
    protected_by = UnicodeAttribute()
    protected_at = UnicodeAttribute()


_MODELS: tuple[type[FingerprintModel], type[ProtectedModel]] = (FingerprintModel, ProtectedModel)
_BINDING = TableBinding(*_MODELS, table=lambda settings: settings.platform_table)


def _bind() -> None:
    _BINDING.bind()


def _fingerprints() -> type[FingerprintModel]:
    _bind()
    return FingerprintModel


def _protected() -> type[ProtectedModel]:
    _bind()
    return ProtectedModel


def reset() -> None:
    """Forget the bound table and connections (the embedded mode restarts on new endpoints)."""
    _BINDING.reset()


@dataclass(frozen=True)
class StoredFingerprints:
    video_id: str
    hashes: list[tuple[float, str]]
    interval: float


def shard_of(video_id: str) -> int:
    """Registry partition: the id's first two hex digits (uuid4 hex ids), else a CRC."""
    try:
        return int(video_id[:2], 16) % SHARDS
    except ValueError:
        return zlib.crc32(video_id.encode("utf-8")) % SHARDS


def encode_hashes(hashes: Sequence[tuple[float, str]]) -> str:
    parts = []
    for t, h in hashes:
        t = float(t)
        h = h.lower()
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"bad frame time {t!r}")
        if not _HEX.match(h):
            raise ValueError(f"bad frame hash {h!r} (16 hex digits expected)")
        parts.append(f"{t:.3f}:{h}")
    return ",".join(parts)


def decode_hashes(text: str) -> list[tuple[float, str]]:
    result: list[tuple[float, str]] = []
    for part in text.split(","):
        if not part:
            continue
        t, _, h = part.partition(":")
        result.append((float(t), h))
    return result


def _capped(hashes: Sequence[tuple[float, str]], interval: float) -> tuple[list[tuple[float, str]], float]:
    """At most MAX_FRAMES frames, evenly picked; the interval grows by the same factor."""
    if len(hashes) <= MAX_FRAMES:
        return list(hashes), interval
    step = len(hashes) / MAX_FRAMES
    picked = [hashes[int(i * step)] for i in range(MAX_FRAMES)]
    return picked, interval * step


def save_fingerprints(video_id: str, hashes: Sequence[tuple[float, str]], interval: float) -> None:
    """Store (replace) the fingerprints of ``video_id``; ``interval``: seconds between samples."""
    if interval <= 0 or not math.isfinite(interval):
        raise ValueError("interval must be a positive number of seconds")
    kept, interval = _capped(hashes, interval)
    model = _fingerprints()
    model(
        f"VIDEO#{video_id}",
        FINGERPRINT_SK,
        hashes=encode_hashes(kept),
        interval=interval,
        frames=len(kept),
        created_at=now_iso(),
    ).save()


def load_fingerprints(video_id: str) -> StoredFingerprints | None:
    try:
        item = _fingerprints().get(f"VIDEO#{video_id}", FINGERPRINT_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return StoredFingerprints(
        video_id=video_id, hashes=decode_hashes(item.hashes), interval=float(item.interval)
    )


def delete_fingerprints(video_id: str) -> None:
    """Forget a video's own fingerprints (not its registry entry: see :func:`unprotect`)."""
    _fingerprints()(f"VIDEO#{video_id}", FINGERPRINT_SK).delete()


def protect(video_id: str, by: str) -> int:
    """Copy the video's fingerprints into the registry (idempotent: re-protecting refreshes it).

    Returns the number of frames registered; 0 (and nothing written) when the video has no
    fingerprints, or none with any structure.
    """
    stored = load_fingerprints(video_id)
    if stored is None or not stored.hashes:
        return 0
    model = _protected()
    model(
        f"PROTECTED#{shard_of(video_id)}",
        video_id,
        hashes=encode_hashes(stored.hashes),
        interval=stored.interval,
        frames=len(stored.hashes),
        protected_by=by,
        protected_at=now_iso(),
    ).save()
    return len(stored.hashes)


def unprotect(video_id: str) -> None:
    _protected()(f"PROTECTED#{shard_of(video_id)}", video_id).delete()


def is_protected(video_id: str) -> bool:
    try:
        _protected().get(f"PROTECTED#{shard_of(video_id)}", video_id, attributes_to_get=["sk"])
    except DoesNotExist:
        return False
    return True


def registry() -> dict[str, list[tuple[float, str]]]:
    """Every protected video's frames: one Query per shard (pages followed), never a Scan."""
    model = _protected()
    result: dict[str, list[tuple[float, str]]] = {}
    for shard in range(SHARDS):
        for item in model.query(f"PROTECTED#{shard}", attributes_to_get=["sk", "hashes"]):
            result[item.sk] = decode_hashes(item.hashes)
    return result
