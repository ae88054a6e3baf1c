"""The catalog: its CQRS path (table stream -> publisher -> bus -> queue -> projector,
docs/catalog.md) and title covers (uploads under covers/ -> covers queue -> renderer)."""

from __future__ import annotations

from functions.catalog.models import EVENT_SOURCE as CATALOG_EVENT_SOURCE
from functions.catalog.models import TITLE_EVENTS
from functions.shared.events import SOURCE as VIDEO_EVENT_SOURCE
from functions.shared.keys import COVERS_PREFIX
from infra.spec.types import (
    READ_WRITE,
    BucketNotificationSpec,
    BusRuleSpec,
    FunctionSpec,
    QueueSpec,
    TableStreamSpec,
)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="catalog-publisher",
        handler="functions.catalog.handlers.handle_publish_changes.handler",
        service="catalog",
        description="Turns catalog table stream records into vod.catalog title.* events",
        memory_mb=256,
        timeout_s=60,
        env=("EVENT_BUS_NAME",),
        puts_events=True,
    ),
    # Takedown (issue 13): a deleted video's movie is unbound and unpublished, its episodes removed.
    FunctionSpec(
        name="catalog-takedown",
        handler="functions.catalog.handlers.handle_video_deleted.handler",
        service="catalog",
        description="Unbinds a taken-down video from its catalog titles (video.deleted)",
        memory_mb=256,
        timeout_s=60,
        env=("CATALOG_TABLE",),
        grants={"catalog_table": READ_WRITE},
    ),
    FunctionSpec(
        name="catalog-projector",
        handler="functions.catalog.handlers.handle_project.handler",
        service="catalog",
        description="Keeps the catalog listing and search views up to date from title.* events",
        memory_mb=512,
        timeout_s=60,
        env=("CATALOG_VIEWS_TABLE",),
        grants={"catalog_views_table": READ_WRITE},
        reserved_concurrency=1,  # one writer per view: out-of-order events are settled by version
    ),
    # Title covers: uploads under covers/ -> covers queue -> renderer (catalog/logic/covers_render.py).
    FunctionSpec(
        name="covers-renderer",
        handler="functions.catalog.handlers.handle_covers.handler",
        service="catalog",
        description="Checks an uploaded title image, writes WebP renditions without metadata, records them",
        # One image at a time; a 36 Mpx RGBA PNG peaks near 0.4 GB. Memory buys CPU: ~5 s for it.
        memory_mb=1536,
        timeout_s=60,
        layers=("images",),
        env=("CATALOG_TABLE", "UPLOAD_BUCKET", "MEDIA_BUCKET", "CDN_BASE_URL"),
        # upload bucket: read the upload, then delete it (the original keeps its EXIF/GPS);
        # media bucket: write the renditions, delete those a newer image replaced
        grants={"catalog_table": READ_WRITE, "upload_bucket": READ_WRITE, "media_bucket": READ_WRITE},
    ),
)

QUEUES: tuple[QueueSpec, ...] = (
    # Fed by the catalog-projections bus rule.
    QueueSpec(
        name="catalog-projections", consumer="catalog-projector", batch_size=10, visibility_timeout_s=360
    ),
    # Fed by the catalog-video-deleted bus rule.
    QueueSpec(
        name="catalog-video-deleted", consumer="catalog-takedown", batch_size=10, visibility_timeout_s=360
    ),
    # One image per invocation: memory holds one decoded image at a time.
    QueueSpec(name="covers", consumer="covers-renderer", batch_size=1, visibility_timeout_s=360),
)

BUS_RULES: tuple[BusRuleSpec, ...] = (
    BusRuleSpec(
        name="catalog-projections",
        pattern={"source": [CATALOG_EVENT_SOURCE], "detail-type": list(TITLE_EVENTS)},
        queue="catalog-projections",
    ),
    BusRuleSpec(
        name="catalog-video-deleted",
        pattern={"source": [VIDEO_EVENT_SOURCE], "detail-type": ["video.deleted"]},
        queue="catalog-video-deleted",
    ),
)

TABLE_STREAMS: tuple[TableStreamSpec, ...] = (TableStreamSpec(table="catalog", consumer="catalog-publisher"),)

BUCKET_NOTIFICATIONS: tuple[BucketNotificationSpec, ...] = (
    BucketNotificationSpec(bucket="upload_bucket", prefix=COVERS_PREFIX, queue="covers"),
)
