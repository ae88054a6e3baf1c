"""The video lifecycle: every change of a video's status, one named move per business transition.

This module is the only caller of the videos DAL's writes (tests/unit/test_lifecycle.py checks
it): the pipeline and moderation call these moves, never ``functions.videos.dal``. Each move says
the statuses it starts from; the DAL refuses one the transition table
(``functions/videos/models.py`` ``ALLOWED_TRANSITIONS``) does not allow, so no move can widen it.

    create_awaiting_upload      (new)                       -> AWAITING_UPLOAD
    mark_uploaded               AWAITING_UPLOAD             -> UPLOADED
    rerun_after_failure         FAILED                      -> UPLOADED   (safe retry)
    rerun_with_override         REJECTED                    -> UPLOADED   (an admin approves)
    start_processing            UPLOADED, PROCESSING        -> PROCESSING (Probe; a retried Probe)
    mark_viewable               PROCESSING                  -> VIEWABLE   (chunked: lowest rung plays)
    hold_for_review             PROCESSING                  -> IN_REVIEW  (grey band)
    resume_after_review         IN_REVIEW                   -> PROCESSING (an admin approves)
    reject_by_admin             IN_REVIEW                   -> REJECTED
    review_timed_out            IN_REVIEW, PROCESSING       -> FAILED     (the deadline passed)
    mark_ready                  PROCESSING, VIEWABLE        -> READY      (Publish)
    reject                      any non-terminal            -> REJECTED   (compensation: policy said no)
    record_failure              any non-terminal            -> FAILED     (compensation, safety net)
    take_down                   any but DELETED             -> DELETED    (owner or admin; terminal)

and the facts recorded while a video is processed, which change no status: ``record_probe``,
``record_progress``, ``start_chunk_counting``, ``count_chunk_done``, ``write_chunk_progress``,
``record_moderation_reasons``, ``record_ignored_upload``, ``set_visibility``, and for a taken-down
video ``record_takedown_announced`` and ``record_purged``. No fact is written onto a DELETED
record by the pipeline's moves (the DAL refuses it: ``Conflict``), so a step still running when its
video was taken down cannot bring it back.

A move raises ``Conflict`` when the record is not in one of its statuses (someone else moved it
first). Moves that a retried step repeats after success say so in their return value instead.

The per-user count of uploads in flight (``functions/videos/dal/in_flight.py``) follows the
moves: a move into UPLOADED holds the video's place, a move into READY, REJECTED or FAILED gives
it back (idempotently, keyed by video), so every path that settles a video releases it once.
"""

from __future__ import annotations

from typing import Any

from functions.shared.clock import now_iso
from functions.shared.errors import Conflict
from functions.videos.dal import in_flight
from functions.videos.dal import videos as dal
from functions.videos.dal.tables import VideoModel
from functions.videos.models import VideoStatus as S
from functions.videos.models import sources_of

# Progress of an UPLOADED video whose execution waits in AcquireSlot for a slot of its class's
# budget (functions/pipeline/logic/slots.py); Probe replaces it when the execution is admitted.
QUEUED: dict[str, Any] = {"stage": "queued", "percent": 0}
# Reasons the lifecycle itself records.
REJECTED_BY_ADMIN = "moderation_rejected_by_admin"
REVIEW_TIMED_OUT = "review_timed_out"
# The statuses in which chunk encoders count and report progress.
ENCODING = (S.PROCESSING, S.VIEWABLE)


# -- a video is created and uploaded, or re-enters the pipeline -----------------------------------
def create_awaiting_upload(
    *,
    video_id: str,
    owner_sub: str,
    title: str,
    description: str,
    tags: list[str],
    upload_key: str,
    priority_class: str | None = None,
    visibility: str | None = None,
) -> VideoModel:
    """A new video, AWAITING_UPLOAD (``Conflict`` if the id exists)."""
    return dal.create(
        video_id=video_id,
        owner_sub=owner_sub,
        title=title,
        description=description,
        tags=tags,
        upload_key=upload_key,
        priority_class=priority_class,
        visibility=visibility,
    )


def set_visibility(video_id: str, visibility: str) -> None:
    """Who may play the video when it is bound to no title (no status change)."""
    dal.update_fields(video_id, visibility=visibility)


def mark_uploaded(
    video_id: str,
    *,
    upload_version: str,
    execution_name: str,
    attempt: int,
    size_bytes: int,
    source_version_id: str | None = None,
    source_etag: str | None = None,
) -> VideoModel:
    """The upload arrived: UPLOADED, queued for a pipeline slot, its source fixed (the S3 version
    every later step reads). Only from AWAITING_UPLOAD (a second upload, or a redelivery of this
    one, gets ``Conflict``)."""
    return _holding(
        dal.transition(
            video_id,
            S.UPLOADED,
            only_from={S.AWAITING_UPLOAD},
            upload_version=upload_version,
            source_version_id=source_version_id,
            source_etag=source_etag,
            uploaded_at=now_iso(),
            execution_name=execution_name,
            attempt=attempt,
            source={"size_bytes": size_bytes},
            progress=QUEUED,
        )
    )


def rerun_after_failure(
    video_id: str, *, expected_attempt: float | None, attempt: int, execution_name: str
) -> VideoModel:
    """Safe retry of a FAILED video: UPLOADED again as attempt ``attempt``. The attempt counter is
    the lock: of two concurrent retries one wins, the other gets ``Conflict``."""
    return _holding(
        dal.transition(
            video_id,
            S.UPLOADED,
            only_from={S.FAILED},
            extra_condition=dal.attempt_is(expected_attempt),
            attempt=attempt,
            execution_name=execution_name,
            reason=None,
            message=None,
            progress=QUEUED,
            reasons=None,
        )
    )


def rerun_with_override(
    video_id: str, *, expected_attempt: float | None, attempt: int, execution_name: str, override_by: str
) -> VideoModel:
    """An admin approves a REJECTED video: UPLOADED again, the checks then record but do not block."""
    return _holding(
        dal.transition(
            video_id,
            S.UPLOADED,
            only_from={S.REJECTED},
            extra_condition=dal.attempt_is(expected_attempt),
            attempt=attempt,
            execution_name=execution_name,
            reason=None,
            message=None,
            progress=QUEUED,
            moderation_override=override_by,
        )
    )


# -- the pipeline ---------------------------------------------------------------------------------
def start_processing(video_id: str) -> VideoModel:
    """Probe admits the video: PROCESSING. Also from PROCESSING: a retried Probe runs again."""
    return dal.transition(
        video_id,
        S.PROCESSING,
        only_from={S.UPLOADED, S.PROCESSING},
        reason=None,
        message=None,
        progress={"stage": "probe", "percent": 0},
    )


IGNORED_UPLOADS_KEPT = 20  # entries of ignored_uploads kept on a record; later ones are logged only


def record_ignored_upload(video_id: str, entry: dict[str, Any]) -> bool:
    """An object written to the video's key after its source was fixed, not processed (no status
    change). False when the record already holds ``IGNORED_UPLOADS_KEPT`` of them."""
    return dal.append_bounded(video_id, "ignored_uploads", entry, limit=IGNORED_UPLOADS_KEPT)


def record_probe(
    video_id: str, *, duration_seconds: float, width: int, height: int, source: dict[str, Any]
) -> None:
    """What Probe found (no status change)."""
    dal.update_fields(video_id, duration_seconds=duration_seconds, width=width, height=height, source=source)


def record_progress(video_id: str, progress: dict[str, Any]) -> None:
    """Encoding progress of the single pass; ``Conflict`` when the video has left PROCESSING."""
    dal.update_fields(video_id, expected_status=S.PROCESSING, progress=progress)


def start_chunk_counting(video_id: str, progress: dict[str, Any]) -> None:
    """Split made the chunks: the chunk counters start from zero (no status change)."""
    dal.update_fields(
        video_id, chunks_done_preview=None, chunks_done_rest=None, progress_seq=0, progress=progress
    )


def count_chunk_done(video_id: str, *, preview: bool) -> tuple[int, int] | None:
    """One more chunk encoded in the preview pass or the rest (an atomic ADD): the (preview, rest)
    counts after, or None when the video is no longer encoding."""
    counter = "chunks_done_preview" if preview else "chunks_done_rest"
    item = dal.increment(video_id, counter, statuses=ENCODING)
    if item is None:
        return None
    return int(item.chunks_done_preview or 0), int(item.chunks_done_rest or 0)


def write_chunk_progress(video_id: str, progress: dict[str, Any], *, seq: int) -> bool:
    """Chunked progress, unless a write with a higher ``seq`` got there first (or it stopped encoding)."""
    return dal.write_progress_in_order(video_id, progress, seq=seq, statuses=ENCODING)


def record_moderation_reasons(video_id: str, reasons: list[dict[str, Any]]) -> None:
    """What the moderation checks found (no status change; the Saga decides what follows)."""
    dal.update_fields(video_id, reasons=reasons or None)


def mark_viewable(
    video_id: str, *, renditions: list[dict[str, Any]], pending: list[str]
) -> VideoModel | None:
    """Chunked path: the lowest rung is stitched and plays. None when a retried step finds the
    video VIEWABLE already."""
    try:
        return dal.transition(
            video_id,
            S.VIEWABLE,
            only_from={S.PROCESSING},
            renditions=renditions,
            renditions_pending=pending or None,
            viewable_at=now_iso(),
        )
    except Conflict:
        if dal.get(video_id).status == S.VIEWABLE.value:
            return None  # a retry of this step after it succeeded
        raise


def mark_ready(
    video_id: str, *, renditions: list[dict[str, Any]], poster_key: str, storyboard_key: str
) -> VideoModel:
    """Publish: READY, from PROCESSING or VIEWABLE. A retry after the write finds READY and is fine."""
    try:
        dal.transition(
            video_id,
            S.READY,
            only_from=sources_of(S.READY),
            renditions=renditions,
            poster_key=poster_key,
            storyboard_key=storyboard_key,
            ready_at=now_iso(),
            progress={"stage": "done", "percent": 100},
            reason=None,
            message=None,
            renditions_pending=None,
        )
    except Conflict:
        if dal.get(video_id).status != S.READY.value:
            raise
    return _settled(dal.get(video_id))


def reject(video_id: str, *, reason: str, message: str) -> VideoModel:
    """Compensation of a refused input (MediaRejected): REJECTED with its reason."""
    return _settled(
        dal.transition(
            video_id,
            S.REJECTED,
            only_from=sources_of(S.REJECTED),
            reason=reason,
            message=message,
            progress=None,
        )
    )


def record_failure(video_id: str, *, reason: str, message: str) -> VideoModel:
    """A step broke (compensation), or the execution ended without recording an outcome (the
    safety net): FAILED with its reason."""
    return _settled(
        dal.transition(
            video_id, S.FAILED, only_from=sources_of(S.FAILED), reason=reason, message=message, progress=None
        )
    )


# -- takedown -------------------------------------------------------------------------------------
def take_down(video_id: str, *, deleted_by: str, previous_status: S) -> VideoModel:
    """DELETE /v1/videos/{id}: DELETED, recording who, when and the status it left. Conditional on
    the record still being in ``previous_status`` (``Conflict`` when something moved it first: read
    again and repeat). Gives back the owner's in-flight place, as every settling move does."""
    return _settled(
        dal.transition(
            video_id,
            S.DELETED,
            only_from={previous_status},
            deleted_by=deleted_by,
            deleted_at=now_iso(),
            previous_status=previous_status.value,
            progress=None,
            review_token=None,
        )
    )


def record_takedown_announced(video_id: str) -> None:
    """The ``video.deleted`` event went out: a repeated DELETE does not send it again."""
    dal.update_fields(video_id, expected_status=S.DELETED, deleted_announced_at=now_iso())


def record_purged(video_id: str) -> None:
    """The takedown worker removed the video's objects and invalidated its CDN paths."""
    dal.update_fields(video_id, expected_status=S.DELETED, purged_at=now_iso())


# -- admin review ---------------------------------------------------------------------------------
def hold_for_review(video_id: str, *, token: str) -> VideoModel | None:
    """Moderation scored the grey band: IN_REVIEW with the Saga's task token. None for a repeat with
    the same token; ``Conflict`` for anything else."""
    try:
        return dal.transition(
            video_id,
            S.IN_REVIEW,
            only_from={S.PROCESSING},
            review_token=token,
            progress={"stage": "review", "percent": 100},
        )
    except Conflict:
        current = dal.get(video_id)
        if current.status == S.IN_REVIEW.value and current.review_token == token:
            return None
        raise


def resume_after_review(video_id: str, *, approved_by: str) -> bool:
    """An admin approves a held video: PROCESSING again (the Saga publishes). False when a
    concurrent decision moved it first; ``Conflict`` when it is still IN_REVIEW."""
    try:
        dal.transition(
            video_id,
            S.PROCESSING,
            only_from={S.IN_REVIEW},
            review_token=None,
            moderation_override=approved_by,
        )
    except Conflict:
        if dal.get(video_id).status == S.IN_REVIEW.value:
            raise
        return False
    return True


def reject_by_admin(video_id: str, *, note: str) -> bool:
    """An admin rejects a held video: REJECTED with the note. False when a concurrent rejection got
    there first; ``Conflict`` for any other status."""
    try:
        _settled(
            dal.transition(
                video_id,
                S.REJECTED,
                only_from={S.IN_REVIEW},
                reason=REJECTED_BY_ADMIN,
                message=note,
                review_token=None,
            )
        )
    except Conflict:
        if dal.get(video_id).status != S.REJECTED.value:
            raise
        return False
    return True


def review_timed_out(video_id: str, *, message: str) -> VideoModel:
    """Nobody decided before the review deadline: FAILED ``review_timed_out``, the token dropped.
    Also from PROCESSING: an approval won the record just as the deadline passed (its token was
    refused), or the deadline passed before the hold was written."""
    return _settled(
        dal.transition(
            video_id,
            S.FAILED,
            only_from={S.IN_REVIEW, S.PROCESSING},
            reason=REVIEW_TIMED_OUT,
            message=message,
            progress=None,
            review_token=None,
        )
    )


# -- the per-user count of uploads in flight ------------------------------------------------------
def _holding(item: VideoModel) -> VideoModel:
    """The video (re-)entered the pipeline: it counts until it settles."""
    in_flight.hold(item.owner_sub, item.video_id)
    return item


def _settled(item: VideoModel) -> VideoModel:
    """The video is READY, REJECTED, FAILED or DELETED: its place is given back (a repeat is a no-op)."""
    in_flight.give_back(item.owner_sub, item.video_id)
    return item
