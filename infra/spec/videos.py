"""The videos domain: the ingest starter, one ingest queue per priority class, and the upload
bucket's notifications that feed them."""

from __future__ import annotations

from functions.shared.events import SOURCE as VIDEO_EVENT_SOURCE
from functions.videos.logic.priority import CLASSES as PRIORITY_CLASSES
from infra.spec.types import (
    BASE_ENV,
    DELETE,
    PURGE,
    READ_WRITE,
    BucketNotificationSpec,
    BusRuleSpec,
    FunctionSpec,
    QueueSpec,
)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="ingest-starter",
        handler="functions.videos.handlers.handle_ingest.handler",
        service="ingest",
        description="Marks an uploaded video UPLOADED and starts its pipeline execution (idempotent)",
        memory_mb=256,
        timeout_s=30,
        env=(*BASE_ENV, "UPLOAD_BUCKET", "STATE_MACHINE_ARN"),
        # DELETE: an object written to a video's key after its source was fixed is removed (that
        # version only); the source version stays.
        grants={"videos_table": READ_WRITE, "upload_bucket": DELETE},
        starts_executions=True,
    ),
    # Takedown, second half (functions/videos/logic/takedown.py): the API moved the record to
    # DELETED and emitted video.deleted; this removes what the video left behind.
    FunctionSpec(
        name="video-takedown",
        handler="functions.videos.handlers.handle_takedown.handler",
        service="takedown",
        description="Purges a taken-down video: stops its execution, deletes every object version, "
        "invalidates its CDN paths",
        memory_mb=256,
        timeout_s=120,
        env=("VIDEOS_TABLE", "UPLOAD_BUCKET", "MEDIA_BUCKET", "STATE_MACHINE_ARN", "CDN_DISTRIBUTION_ID"),
        # videos_table READ_WRITE: reads the record, writes purged_at (through the lifecycle)
        grants={"videos_table": READ_WRITE, "upload_bucket": PURGE, "media_bucket": PURGE},
        stops_executions=True,
        invalidates_cdn=True,
    ),
)

# Buckets (Resources field names) that keep every version of an object: a video's source is the
# version the starter fixed at ingest, so nothing written to its key later can replace what the
# pipeline reads (functions/videos/logic/ingest.py).
VERSIONED_BUCKETS: tuple[str, ...] = ("upload_bucket",)

# One ingest queue per priority class, each with its own share of starter concurrency.
QUEUES: tuple[QueueSpec, ...] = (
    *(
        QueueSpec(name=c.queue, consumer="ingest-starter", max_concurrency=c.starter_concurrency)
        for c in PRIORITY_CLASSES
    ),
    # Fed by the video-takedown bus rule; visibility 6x the worker's timeout.
    QueueSpec(name="video-takedown", consumer="video-takedown", batch_size=1, visibility_timeout_s=720),
)

BUS_RULES: tuple[BusRuleSpec, ...] = (
    BusRuleSpec(
        name="video-takedown",
        pattern={"source": [VIDEO_EVENT_SOURCE], "detail-type": ["video.deleted"]},
        queue="video-takedown",
    ),
)

# Each priority class's uploads go to its own ingest queue.
BUCKET_NOTIFICATIONS: tuple[BucketNotificationSpec, ...] = tuple(
    BucketNotificationSpec(bucket="upload_bucket", prefix=c.upload_prefix, queue=c.queue)
    for c in PRIORITY_CLASSES
)
