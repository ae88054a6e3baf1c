"""The pipeline's guard against a takedown that happened while a step ran.

StopExecution (the takedown worker) stops the Saga, but a step already running finishes: its
Lambda invocation is not cancelled, and it may upload renditions, thumbnails or work files after
the worker purged the video's prefix. Each step that writes media calls ``discard_if_taken_down``
once its writes are done: when the record is DELETED by then, it deletes the video's media prefix
and fails with ``VideoTakenDown`` (the Saga, if not stopped yet, compensates, and compensation
leaves a DELETED record alone). The record moves to DELETED before the worker runs, so a step
whose check passed had finished writing before the purge began.
"""

from __future__ import annotations

from functions.media import storage
from functions.shared import keys
from functions.shared.observability import logger
from functions.shared.settings import get_settings
from functions.videos.dal import videos as dal
from functions.videos.models import VideoStatus


class VideoTakenDown(Exception):
    """A step's video was taken down while it ran (the Step Functions error name is the class name)."""


def is_taken_down(video_id: str) -> bool:
    item = dal.find(video_id)
    return item is not None and item.status == VideoStatus.DELETED


def discard_if_taken_down(video_id: str) -> None:
    """After a step's writes: undo them and stop here if the video was taken down meanwhile."""
    if not is_taken_down(video_id):
        return
    removed = storage.delete_prefix(get_settings().media_bucket, keys.output_prefix(video_id))
    logger.warning("step ended after its video was taken down: outputs removed", extra={"removed": removed})
    raise VideoTakenDown(f"video {video_id} was taken down while this step ran")
