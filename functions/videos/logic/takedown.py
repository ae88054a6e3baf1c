"""Takedown: ``DELETE /v1/videos/{id}`` (the owner or an admin), in every status.

Two halves, so that the request answers at once and the slow, retryable part has its own
least-privilege function:

1. ``take_down_video`` (the API): the record moves to DELETED through the lifecycle's one move
   (``take_down``: who, when, the status it left; the record is kept for audit), and
   ``video.deleted`` goes out on the bus, once (``deleted_announced_at`` marks it sent; a repeated
   DELETE answers the DELETED record and sends nothing). From that moment playback refuses the
   video (410 ``deleted``, functions/playback/logic/access.py), the pipeline's moves cannot write
   it again (DELETED has no outgoing transition and the DAL refuses facts on it), and the starter
   discards any upload that still arrives for it.
2. ``purge_taken_down`` (the takedown worker, functions/videos/logic/purge.py, fed by
   ``video.deleted`` through its queue): stops the running execution (StopExecution: its Catch
   does not run, and the safety net leaves a DELETED video alone), deletes every version of its
   upload and aborts open multipart uploads (the upload bucket is versioned), deletes its media
   prefix (renditions, thumbnails, work files), and invalidates ``/videos/<id>/*`` on the CDN,
   so signed URLs issued before find nothing at the edge. A step that was already running when
   the execution stopped finishes on its own; it checks the record after writing
   (functions/pipeline/logic/takedown_guard.py) and removes what it wrote. Every part is
   idempotent: SQS redelivers until it succeeds.

The two live apart so that the API's cold start does not import the storage helpers.

The catalog unbinds the video's movie or episodes when it hears ``video.deleted``
(functions/catalog/logic/takedown.py): another domain, so it reads the event, not this module.
"""

from __future__ import annotations

from typing import Any

from functions.shared.auth import Principal
from functions.shared.authz import authorize, permits
from functions.shared.errors import Conflict, NotFound
from functions.shared.events import VIDEO_DELETED, put_video_event
from functions.shared.keys import VIDEO_ID_RE
from functions.shared.observability import logger
from functions.videos.dal import videos as dal
from functions.videos.dal.tables import VideoModel
from functions.videos.logic import lifecycle
from functions.videos.logic.videos import to_view
from functions.videos.models import VideoStatus, VideoView

# Reads and conditional writes racing a pipeline step that moves the record meanwhile: each lost
# race means the record moved on, so a few rounds always settle it.
_ATTEMPTS = 5


def take_down_video(principal: Principal, video_id: str) -> VideoView:
    """The owner or an admin takes the video down: DELETED, ``video.deleted`` emitted once."""
    authorize(principal, "videos:delete")
    if not VIDEO_ID_RE.match(video_id):
        raise NotFound(f"video {video_id} not found")
    item = dal.get(video_id)
    authorize(principal, "videos:delete", owner=item.owner_sub)
    for _ in range(_ATTEMPTS):
        if item.status == VideoStatus.DELETED:
            break
        try:
            lifecycle.take_down(video_id, deleted_by=principal.sub, previous_status=VideoStatus(item.status))
            logger.info("video taken down", extra={"previous_status": item.status})
            break
        except Conflict:
            item = dal.get(video_id)  # a step moved it first: take it down from where it is now
    item = dal.get(video_id)
    if item.status != VideoStatus.DELETED:
        raise Conflict(f"video {video_id} kept changing status: try again")
    if not item.deleted_announced_at:
        put_video_event(VIDEO_DELETED, **deleted_event_detail(item))
        lifecycle.record_takedown_announced(video_id)
        item = dal.get(video_id)
    return to_view(item, evidence=permits(principal, "videos:read_evidence"))


def deleted_event_detail(item: VideoModel) -> dict[str, Any]:
    """The ``video.deleted`` contract: video_id, owner, deleted_by, deleted_at, previous_status."""
    return {
        "video_id": item.video_id,
        "owner": item.owner_sub,
        "deleted_by": item.deleted_by,
        "deleted_at": item.deleted_at,
        "previous_status": item.previous_status,
    }
