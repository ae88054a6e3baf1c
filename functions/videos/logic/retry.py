"""Safe retry of a FAILED video: a new execution from the stored upload, at most one at a time."""

from __future__ import annotations

from functions.shared.auth import Principal
from functions.shared.errors import Conflict, Forbidden
from functions.shared.settings import get_settings
from functions.videos.dal import videos as dal
from functions.videos.logic.ingest import execution_name, start_execution
from functions.videos.logic.videos import load_visible, to_view
from functions.videos.models import VideoStatus, VideoView


def retry_video(principal: Principal, video_id: str) -> VideoView:
    item = load_visible(principal, video_id)
    if not (principal.is_admin or principal.sub == item.owner_sub):
        raise Forbidden("only the owner or an admin may retry a video")
    if item.status != VideoStatus.FAILED:
        raise Conflict(f"only FAILED videos can be retried; this one is {item.status}", code="not_failed")
    attempt = int(item.attempt or 1) + 1
    version = item.upload_version or "v"
    # The conditional write is the lock: of two concurrent retries, one moves FAILED -> UPLOADED
    # (and starts the execution); the other sees UPLOADED and gets 409.
    dal.transition(
        video_id,
        VideoStatus.UPLOADED,
        allowed_from=frozenset({VideoStatus.FAILED}),
        extra_condition=dal.attempt_is(item.attempt),
        attempt=attempt,
        execution_name=execution_name(video_id, version, attempt),
        reason=None,
        message=None,
        reasons=None,
        progress=None,
    )
    start_execution(
        video_id=video_id,
        bucket=get_settings().upload_bucket,
        key=item.upload_key,
        upload_version=version,
        attempt=attempt,
        moderation_override=bool(item.moderation_override),
    )
    return to_view(dal.get(video_id), evidence=principal.is_admin)
