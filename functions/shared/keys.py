"""Object key layout shared by the API, the starter, the pipeline and the infrastructure."""

from __future__ import annotations

import re

UPLOAD_PREFIX = "uploads/"
OUTPUT_PREFIX = "videos/"
VIDEO_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_UPLOAD_KEY_RE = re.compile(r"^uploads/([0-9a-f]{32})/source$")


def upload_key(video_id: str) -> str:
    return f"{UPLOAD_PREFIX}{video_id}/source"


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
