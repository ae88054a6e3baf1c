"""The starter: an uploaded object moves its video to UPLOADED and starts exactly one execution.

The first object of a video's key is its only source: its version id is recorded and passed to
every execution (retries and admin approvals included), so what was checked is what is
published. Later writes to the key are recorded as ignored and their versions deleted.

S3 and SQS deliver at least once, so every step is idempotent: the status change is a
conditional write, and the execution name is derived from the video id and the upload's S3
sequencer (unique per PUT, identical across duplicate deliveries of one PUT's event).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from functions.shared.aws import client
from functions.shared.clock import now_iso
from functions.shared.errors import Conflict
from functions.shared.keys import video_id_from_upload_key
from functions.shared.observability import logger
from functions.shared.settings import get_settings
from functions.videos.logic import lifecycle, priority, records
from functions.videos.models import VideoStatus

_NAME_UNSAFE = re.compile(r"[^0-9A-Za-z_-]")
# The reason recorded for an object written to a video's key after its source was fixed.
IGNORED_SOURCE_FIXED = "source_already_fixed"


@dataclass(frozen=True)
class IngestOutcome:
    video_id: str | None
    action: str  # started | duplicate | ignored
    execution_name: str | None = None


def execution_name(video_id: str, upload_version: str, attempt: int) -> str:
    """Deterministic and within Step Functions' 80-character limit."""
    version = _NAME_UNSAFE.sub("", upload_version)[:32] or "v"
    return f"{video_id}-{version}-a{attempt}"[:80]


def start_execution(
    *,
    video_id: str,
    bucket: str,
    key: str,
    version_id: str | None,
    upload_version: str,
    attempt: int,
    priority_class: str,
    moderation_override: bool = False,
) -> str:
    """Start the pipeline execution for one upload attempt; a repeat is a no-op."""
    sfn = client("stepfunctions")
    settings = get_settings()
    name = execution_name(video_id, upload_version, attempt)
    payload = {
        "video_id": video_id,
        "bucket": bucket,
        "key": key,
        "version_id": version_id,  # the video's fixed source: every step reads this version
        "upload_version": upload_version,
        "attempt": attempt,
        "priority_class": priority_class,  # whose budget AcquireSlot takes a slot of
        # An admin approved this video past a moderation rejection: the checks record, not block.
        "moderation_override": moderation_override,
        # How long AwaitReview waits for an admin (its TimeoutSecondsPath) if moderation holds it.
        "review_deadline_seconds": settings.review_deadline_seconds,
    }
    try:
        sfn.start_execution(stateMachineArn=settings.state_machine_arn, name=name, input=json.dumps(payload))
        logger.info("execution started", extra={"execution_name": name})
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("execution already exists", extra={"execution_name": name})
    return name


def handle_object_created(
    *,
    bucket: str,
    key: str,
    sequencer: str,
    size: int,
    version_id: str | None = None,
    etag: str | None = None,
) -> IngestOutcome:
    """The first object of a video's key becomes its one source: its S3 version (and ETag) are
    recorded with the move to UPLOADED and every execution reads that version. Anything written
    to the key later (S3 refuses a second PUT through the upload URL; another writer may not) is
    recorded on the video as ignored, its version deleted, and never processed."""
    video_id = video_id_from_upload_key(key)
    if video_id is None:
        logger.warning("ignoring an object outside the upload layout", extra={"key": key})
        return IngestOutcome(None, "ignored")
    logger.append_keys(video_id=video_id)
    item = records.find_record(video_id)
    if item is None:
        logger.warning("ignoring an upload for an unknown video")
        return IngestOutcome(video_id, "ignored")
    if item.status == VideoStatus.DELETED:
        # Taken down: nothing of it may come back. Also a late delivery of the event of its
        # first upload (whose version the takedown deleted already: deleting it again is a no-op).
        logger.warning(
            "discarding an upload for a taken-down video", extra={"ignored_version_id": version_id}
        )
        _discard(bucket, key, version_id)
        return IngestOutcome(video_id, "ignored")

    attempt = 1
    name = execution_name(video_id, sequencer, attempt)
    try:
        lifecycle.mark_uploaded(
            video_id,
            upload_version=sequencer,
            execution_name=name,
            attempt=attempt,
            size_bytes=size,
            source_version_id=version_id,
            source_etag=etag,
        )
        action = "started"
    except Conflict:
        current = records.get_record(video_id)
        if not _same_upload(current, sequencer=sequencer, version_id=version_id):
            _ignore_later_upload(current, bucket=bucket, key=key, version_id=version_id, size=size)
            return IngestOutcome(video_id, "ignored")
        # The same upload delivered again: make sure its execution exists (the first delivery may
        # have crashed between the write and the start), then stop. Named from the upload the
        # record holds: the same object's events may differ in their sequencer.
        attempt = int(current.attempt or 1)
        sequencer = current.upload_version or sequencer
        action = "duplicate"
    name = start_execution(
        video_id=video_id,
        bucket=bucket,
        key=key,
        version_id=version_id,
        upload_version=sequencer,
        attempt=attempt,
        priority_class=priority.class_of(item.priority_class).name,
    )
    return IngestOutcome(video_id, action, name)


def _same_upload(current: Any, *, sequencer: str, version_id: str | None) -> bool:
    """A redelivery of the event that fixed the source (S3 delivers at least once)."""
    if version_id and current.source_version_id:
        return bool(current.source_version_id == version_id)
    return bool(current.upload_version == sequencer)


def _ignore_later_upload(current: Any, *, bucket: str, key: str, version_id: str | None, size: int) -> None:
    entry = {
        "at": now_iso(),
        "size_bytes": size,
        "status": current.status,
        "reason": IGNORED_SOURCE_FIXED,
    }
    logger.warning(
        "ignoring an object written to the upload key after the video's source was fixed",
        extra={"status": current.status, "size_bytes": size, "ignored_version_id": version_id},
    )
    if not lifecycle.record_ignored_upload(current.video_id, entry):
        logger.warning("the video's record of ignored uploads is full: this one is logged only")
    if version_id and current.source_version_id and version_id != current.source_version_id:
        # Only that later version: the source version stays the key's current one again.
        client("s3").delete_object(Bucket=bucket, Key=key, VersionId=version_id)


def _discard(bucket: str, key: str, version_id: str | None) -> None:
    """Delete the object the event names (that version in a versioned bucket)."""
    version = {"VersionId": version_id} if version_id else {}
    client("s3").delete_object(Bucket=bucket, Key=key, **version)


def retry_failed(item: Any) -> str:
    """Safe retry of a FAILED video: a new attempt from the stored upload. The conditional write
    is the lock: of two concurrent requests, one moves the video back to UPLOADED and starts the
    execution; the other gets Conflict (409)."""
    attempt, name = _next_attempt(item)
    lifecycle.rerun_after_failure(
        item.video_id, expected_attempt=item.attempt, attempt=attempt, execution_name=name
    )
    return _start_again(item, attempt, moderation_override=bool(item.moderation_override))


def approve_rejected(item: Any, *, approved_by: str) -> str:
    """An admin's approval of a REJECTED video: a new attempt from the stored upload, in which the
    checks record but do not block (the same lock as ``retry_failed``)."""
    attempt, name = _next_attempt(item)
    lifecycle.rerun_with_override(
        item.video_id,
        expected_attempt=item.attempt,
        attempt=attempt,
        execution_name=name,
        override_by=approved_by,
    )
    return _start_again(item, attempt, moderation_override=True)


def _next_attempt(item: Any) -> tuple[int, str]:
    attempt = int(item.attempt or 1) + 1
    return attempt, execution_name(item.video_id, item.upload_version or "v", attempt)


def _start_again(item: Any, attempt: int, *, moderation_override: bool) -> str:
    return start_execution(
        video_id=item.video_id,
        bucket=get_settings().upload_bucket,
        key=item.upload_key,
        version_id=item.source_version_id,  # the same object the first attempt read
        upload_version=item.upload_version or "v",
        attempt=attempt,
        priority_class=priority.class_of(item.priority_class).name,
        moderation_override=moderation_override,
    )
