"""The videos domain: the ingest starter, one ingest queue per priority class, and the upload
bucket's notifications that feed them."""

from __future__ import annotations

from functions.videos.logic.priority import CLASSES as PRIORITY_CLASSES
from infra.spec.types import BASE_ENV, DELETE, READ_WRITE, BucketNotificationSpec, FunctionSpec, QueueSpec

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
)

# Buckets (Resources field names) that keep every version of an object: a video's source is the
# version the starter fixed at ingest, so nothing written to its key later can replace what the
# pipeline reads (functions/videos/logic/ingest.py).
VERSIONED_BUCKETS: tuple[str, ...] = ("upload_bucket",)

# One ingest queue per priority class, each with its own share of starter concurrency.
QUEUES: tuple[QueueSpec, ...] = tuple(
    QueueSpec(name=c.queue, consumer="ingest-starter", max_concurrency=c.starter_concurrency)
    for c in PRIORITY_CLASSES
)

# Each priority class's uploads go to its own ingest queue.
BUCKET_NOTIFICATIONS: tuple[BucketNotificationSpec, ...] = tuple(
    BucketNotificationSpec(bucket="upload_bucket", prefix=c.upload_prefix, queue=c.queue)
    for c in PRIORITY_CLASSES
)
