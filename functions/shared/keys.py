"""Object key layout shared by the API, the starter, the pipeline and the infrastructure."""

from __future__ import annotations

import re

UPLOAD_PREFIX = "uploads/"  # the standard priority class, and every upload made before classes existed
OUTPUT_PREFIX = "videos/"
VIDEO_ID_RE = re.compile(r"^[0-9a-f]{32}$")
# Other priority classes upload under ``uploads-<class>/``: a top-level prefix of their own, because
# S3 refuses notification filters whose prefixes overlap (functions/videos/logic/priority.py).
_UPLOAD_KEY_RE = re.compile(r"^uploads(?:-[a-z]+)?/([0-9a-f]{32})/source$")


def upload_key(video_id: str, prefix: str = UPLOAD_PREFIX) -> str:
    return f"{prefix}{video_id}/source"


def video_id_from_upload_key(key: str) -> str | None:
    match = _UPLOAD_KEY_RE.match(key)
    return match.group(1) if match else None


def output_prefix(video_id: str) -> str:
    """Everything the pipeline writes for a video lives under this prefix (compensation deletes it)."""
    return f"{OUTPUT_PREFIX}{video_id}/"


def hls_prefix(video_id: str) -> str:
    return f"{output_prefix(video_id)}hls/"


def master_playlist_key(video_id: str) -> str:
    return f"{hls_prefix(video_id)}master.m3u8"


def thumbnails_prefix(video_id: str) -> str:
    return f"{output_prefix(video_id)}thumbnails/"


# Cover and backdrop images of catalog titles (functions/catalog/logic/covers.py). Uploads land in
# the upload bucket under COVERS_PREFIX (a bucket notification of their own: the covers queue);
# renditions go to the media bucket under IMAGES_PREFIX, which CloudFront serves without signed
# URLs (infra/constructs/cdn_construct.py, infra/local/edge.py).
COVERS_PREFIX = "covers/"
IMAGES_PREFIX = "images/"
_COVER_KEY_RE = re.compile(r"^covers/([^/]+)/([a-z]+)/([0-9a-f]{32})$")


def cover_upload_key(title_id: str, kind: str, upload_id: str) -> str:
    return f"{COVERS_PREFIX}{title_id}/{kind}/{upload_id}"


def parse_cover_upload_key(key: str) -> tuple[str, str, str] | None:
    """``covers/<title_id>/<kind>/<upload_id>`` -> (title_id, kind, upload_id); None for other keys."""
    match = _COVER_KEY_RE.match(key)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def image_rendition_key(title_id: str, kind: str, upload_id: str, width: int) -> str:
    """One WebP rendition. The upload id in the path makes every object immutable (cached for good)."""
    return f"{IMAGES_PREFIX}titles/{title_id}/{kind}/{upload_id}/w{width}.webp"


def work_prefix(video_id: str) -> str:
    """Intermediate files of the chunked path (source chunks, per-chunk results): deleted at publish,
    and inside the output prefix, so compensation removes them with everything else."""
    return f"{output_prefix(video_id)}work/"


def chunk_source_key(video_id: str, name: str) -> str:
    return f"{work_prefix(video_id)}chunks/{name}"


def chunk_manifest_key(video_id: str) -> str:
    return f"{work_prefix(video_id)}chunks.json"


def chunk_result_key(video_id: str, pass_name: str, index: int) -> str:
    return f"{work_prefix(video_id)}results/{pass_name}/c{index:05d}.json"


def moderation_range_key(video_id: str, index: int) -> str:
    """What one range of the fanned-out moderation found (frame scores, hashes) for the verdict."""
    return f"{work_prefix(video_id)}moderation/r{index:05d}.json"
