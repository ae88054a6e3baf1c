"""Moderation: the checks the pipeline runs (whole video, or fanned out over time ranges) and the
admin review hold."""

from __future__ import annotations

from infra.spec.types import BASE_ENV, MEDIA_ENV, READ, READ_WRITE, WRITE, FunctionSpec

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="pipeline-moderate",
        handler="functions.moderation.handlers.handle_moderate.handler",
        service="moderation",
        description="Moderation checks: sensitive words, frame classifier, copyright fingerprints",
        memory_mb=3008,
        timeout_s=600,
        media_tools=("ffmpeg",),
        layers=("moderation",),
        env=(*MEDIA_ENV, "PLATFORM_TABLE"),
        grants={"videos_table": READ_WRITE, "upload_bucket": READ, "platform_table": READ_WRITE},
        detects_moderation_labels=True,
        reads_moderation_config=True,
        ephemeral_storage_mb=2048,
    ),
    # Long sources: pipeline-moderate fanned out over the chunks' time ranges, then one verdict.
    FunctionSpec(
        name="pipeline-moderate-range",
        handler="functions.moderation.handlers.handle_moderate_range.handler",
        service="moderation",
        description="Moderation of one time range (a Map iteration): sample frames, classify, fingerprint",
        memory_mb=3008,
        timeout_s=600,
        media_tools=("ffmpeg",),
        layers=("moderation",),
        env=MEDIA_ENV,
        # Reads the source, writes its result under work/; no text check, no registry, no record.
        grants={"upload_bucket": READ, "media_bucket": WRITE},
        detects_moderation_labels=True,
        ephemeral_storage_mb=2048,
    ),
    FunctionSpec(
        name="pipeline-moderate-verdict",
        handler="functions.moderation.handlers.handle_moderate_verdict.handler",
        service="moderation",
        description="Moderation verdict over every range's results: sensitive words, frame scores, copyright",
        memory_mb=1024,
        timeout_s=120,
        layers=("moderation",),
        env=(*MEDIA_ENV, "PLATFORM_TABLE"),
        grants={"videos_table": READ_WRITE, "media_bucket": READ, "platform_table": READ_WRITE},
        reads_moderation_config=True,
    ),
    FunctionSpec(
        name="pipeline-review",
        handler="functions.moderation.handlers.handle_request_review.handler",
        service="moderation",
        description="Holds a grey-band video for an admin: stores the Saga's task token, status IN_REVIEW",
        memory_mb=256,
        timeout_s=30,
        env=BASE_ENV,
        grants={"videos_table": READ_WRITE},
    ),
)
