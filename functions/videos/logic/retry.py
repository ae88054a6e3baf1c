"""Safe retry of a FAILED video: a new execution from the stored upload, at most one at a time."""

from __future__ import annotations

from functions.shared.auth import Principal
from functions.shared.authz import authorize, permits
from functions.shared.errors import Conflict
from functions.videos.logic import records
from functions.videos.logic.ingest import retry_failed
from functions.videos.logic.videos import load_visible, to_view
from functions.videos.models import VideoStatus, VideoView


def retry_video(principal: Principal, video_id: str) -> VideoView:
    item = load_visible(principal, video_id)
    authorize(principal, "videos:retry", owner=item.owner_sub)
    if item.status != VideoStatus.FAILED:
        raise Conflict(f"only FAILED videos can be retried; this one is {item.status}", code="not_failed")
    retry_failed(item)
    return to_view(records.get_record(video_id), evidence=permits(principal, "videos:read_evidence"))
