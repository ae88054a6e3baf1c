"""Reading video records, for the other domains: they call these, never ``functions.videos.dal``.

Writes go through the lifecycle (functions/videos/logic/lifecycle.py).
"""

from __future__ import annotations

from functions.videos.dal import videos as dal
from functions.videos.dal.tables import VideoModel
from functions.videos.models import VideoStatus


def get_record(video_id: str) -> VideoModel:
    """The record (a consistent read); ``NotFound`` when there is none."""
    return dal.get(video_id)


def find_record(video_id: str) -> VideoModel | None:
    """The record (a consistent read), or None."""
    return dal.find(video_id)


def owner_of(video_id: str) -> str | None:
    """Whose video it is; None when there is no such video, or it was taken down (DELETED: the
    record is kept for audit, but nothing may refer to the video any more)."""
    video = dal.find(video_id)
    if video is None or video.status == VideoStatus.DELETED:
        return None
    return video.owner_sub


def in_status(status: VideoStatus, *, limit: int = 50) -> list[VideoModel]:
    """Videos in ``status``, newest first (a Query on the by-status index)."""
    return dal.list_by_status(status, limit=limit)
