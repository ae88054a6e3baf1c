"""The Saga's bookkeeping: publish on success, compensate on failure, and the safety net.

The video's status changes are the lifecycle's moves (functions/videos/logic/lifecycle.py); the
events each carry the video's owner."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from functions.media import storage
from functions.media.probe import ProbeResult
from functions.pipeline.contracts import ExecutionStatusDetail, StepError, ThumbnailsOutput, TranscodeOutput
from functions.pipeline.logic import slots
from functions.shared import keys
from functions.shared.errors import Conflict, parse_step_error
from functions.shared.events import put_video_event
from functions.shared.observability import logger, metrics
from functions.shared.redact import redact, safe_user_text
from functions.shared.settings import get_settings
from functions.videos.logic import lifecycle, records
from functions.videos.models import TERMINAL, VideoStatus, rendition_record

# The error the ReviewTimedOut state puts in ``$.error`` when AwaitReview's deadline passes
# (infra/statemachines/media_pipeline.asl.json); its cause starts with the reason.
REVIEW_TIMED_OUT_ERROR = "ReviewTimedOut"


def _seconds_since(iso_ts: str | None) -> float | None:
    if not iso_ts:
        return None
    then = datetime.fromisoformat(iso_ts.replace("Z", "+00:00"))
    return (datetime.now(UTC) - then).total_seconds()


def publish(
    *, video_id: str, transcode: TranscodeOutput, thumbnails: ThumbnailsOutput, info: ProbeResult
) -> dict[str, Any]:
    renditions = [rendition_record(r.model_dump()) for r in transcode.renditions]
    if transcode.chunks:
        # The chunked path's intermediates (source chunks, per-chunk results) are not outputs:
        # gone before the video is READY (idempotent, so a retried Publish is fine).
        storage.delete_prefix(get_settings().media_bucket, keys.work_prefix(video_id))
    # A retry after a successful write finds READY already; anything else is a real conflict.
    current = lifecycle.mark_ready(
        video_id,
        renditions=renditions,
        poster_key=thumbnails.poster_key,
        storyboard_key=thumbnails.storyboard_key,
    )
    # READY: nothing newer can own the record. After a review the slot is back already: a no-op.
    slots.release(current.execution_name, current)
    duration = info.duration
    if duration > 0:
        metrics.add_metric(
            name="TranscodeSecondsPerOutputMinute",
            unit="Seconds",
            value=transcode.encode_seconds / (duration / 60),
        )
    upload_to_ready = _seconds_since(current.uploaded_at)
    if upload_to_ready is not None:
        metrics.add_metric(name="UploadToReadySeconds", unit="Seconds", value=upload_to_ready)
    metrics.add_metric(name="VideosReady", unit="Count", value=1)
    put_video_event(
        "video.ready",
        video_id=video_id,
        owner=current.owner_sub,
        master_key=transcode.master_key,
        renditions=renditions,
        duration_seconds=duration,
    )
    return {"status": VideoStatus.READY.value, "upload_to_ready_seconds": upload_to_ready}


def compensate(*, video_id: str, failed_step: str, error: StepError | None, execution: str) -> dict[str, Any]:
    """Undo and record: delete every output, then mark REJECTED or FAILED. Safe to repeat."""
    name, reason, message = parse_step_error(error.model_dump() if error else None)
    rejected = name == "MediaRejected"
    if not reason:
        reason = f"{failed_step}_timeout" if name == "States.Timeout" else f"{failed_step}_error"
    status = VideoStatus.REJECTED if rejected else VideoStatus.FAILED
    current = records.find_record(video_id)
    slots.release(execution, current)  # this execution's slot, even when a newer attempt owns the video
    if current is not None and execution and current.execution_name and current.execution_name != execution:
        # A newer attempt owns the video and its outputs now: undo nothing of it.
        logger.warning("compensation of a superseded execution skipped", extra={"execution": execution})
        return {"status": current.status, "reason": None, "deleted": 0}
    if current is not None and current.status == VideoStatus.READY.value:
        logger.error("compensation requested for a READY video: leaving it alone")
        return {"status": VideoStatus.READY.value, "reason": None, "deleted": 0}
    deleted = storage.delete_prefix(get_settings().media_bucket, keys.output_prefix(video_id))
    if current is not None and current.status not in {s.value for s in TERMINAL}:
        # A repeat of this step, or the safety net, may have recorded the outcome first.
        with contextlib.suppress(Conflict):
            _record_outcome(
                video_id,
                error=name,
                reason=reason,
                message=_user_message(name, reason, message, failed_step),
            )
    current = records.find_record(video_id)
    final = current.status if current is not None else status.value
    if final in (VideoStatus.REJECTED.value, VideoStatus.FAILED.value):
        metrics.add_metric(name="VideosRejected" if rejected else "VideosFailed", unit="Count", value=1)
        put_video_event(
            f"video.{final.lower()}",
            video_id=video_id,
            owner=current.owner_sub if current else None,
            reason=current.reason if current else reason,
            step=failed_step,
            execution=execution,
        )
    logger.info(
        "compensated",
        extra={
            "status": final,
            "reason": reason,
            "deleted": deleted,
            "error": name,
            "cause": redact(message),
        },
    )
    return {"status": final, "reason": reason, "deleted": deleted}


def execution_failed(detail: ExecutionStatusDetail) -> dict[str, Any]:
    """Safety net for an execution that ended without its Catch running (timeout, abort, crash)."""
    try:
        payload = json.loads(detail.input or "{}")
    except ValueError:
        payload = {}
    video_id = payload.get("video_id")
    if not video_id:
        logger.warning("status-change event without a video id", extra={"detail": detail.model_dump()})
        return {"handled": False}
    current = records.find_record(video_id)
    slots.release(detail.name, current)  # whatever became of the video, the execution is over
    if current is None or current.status in {s.value for s in TERMINAL}:
        return {"handled": False, "status": current.status if current else None}
    if current.execution_name and detail.name and current.execution_name != detail.name:
        # A retry has already started a newer attempt: this event is about a superseded one.
        logger.info("ignoring the end of a superseded execution", extra={"execution": detail.name})
        return {"handled": False, "status": current.status}
    storage.delete_prefix(get_settings().media_bucket, keys.output_prefix(video_id))
    reason = f"execution_{(detail.status or 'failed').lower()}"
    try:
        lifecycle.record_failure(
            video_id,
            reason=reason,
            message=f"the pipeline execution ended {detail.status} without recording an outcome",
        )
    except Conflict:
        return {"handled": False}
    put_video_event(
        "video.failed", video_id=video_id, owner=current.owner_sub, reason=reason, execution=detail.name
    )
    return {"handled": True, "reason": reason}


def _user_message(error: str, reason: str, cause: str, failed_step: str) -> str:
    """What the owner reads: our own sentence for a refusal or a review deadline (those texts are
    written for users), a fixed sentence for a failure (its cause is raw: tool output, an
    unexpected exception's text, a presigned URL); either way redacted and bounded."""
    if error in ("MediaRejected", REVIEW_TIMED_OUT_ERROR) and cause:
        return safe_user_text(cause)
    return f"the {failed_step} step failed ({reason}); the details are in the platform's logs"


def _record_outcome(video_id: str, *, error: str, reason: str, message: str) -> None:
    """The terminal status compensation records: the review deadline passed, the input was
    refused (MediaRejected), or a step broke."""
    if error == REVIEW_TIMED_OUT_ERROR:
        lifecycle.review_timed_out(video_id, message=message)
    elif error == "MediaRejected":
        lifecycle.reject(video_id, reason=reason, message=message)
    else:
        lifecycle.record_failure(video_id, reason=reason, message=message)
