"""The media pipeline: its Saga's functions, the state machine and the safety-net rule."""

from __future__ import annotations

from functions.shared.settings import PIPELINE_EXECUTION_TIMEOUT_SECONDS
from infra.spec.types import (
    MEDIA_ENV,
    READ,
    READ_WRITE,
    ExecutionFailedRuleSpec,
    FunctionSpec,
    StateMachineSpec,
)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="pipeline-acquire-slot",
        handler="functions.pipeline.handlers.handle_acquire_slot.handler",
        service="pipeline",
        description="Saga's first step: a slot of the upload's priority-class budget, or SlotUnavailable",
        memory_mb=256,
        timeout_s=10,
        env=("PLATFORM_TABLE",),
        grants={"platform_table": READ_WRITE},  # the semaphores (functions/pipeline/dal/slots.py)
    ),
    FunctionSpec(
        name="pipeline-probe",
        handler="functions.pipeline.handlers.handle_probe.handler",
        service="pipeline",
        description="ffprobe the upload and reject what cannot be processed",
        memory_mb=1024,
        timeout_s=120,
        media_tools=("ffprobe",),
        env=MEDIA_ENV,
        grants={"videos_table": READ_WRITE, "upload_bucket": READ},
    ),
    FunctionSpec(
        name="pipeline-transcode",
        handler="functions.pipeline.handlers.handle_transcode.handler",
        service="pipeline",
        description="Encode the HLS ladder in one ffmpeg pass",
        memory_mb=10240,
        timeout_s=900,
        media_tools=("ffmpeg",),
        env=MEDIA_ENV,
        grants={"videos_table": READ_WRITE, "upload_bucket": READ, "media_bucket": READ_WRITE},
        ephemeral_storage_mb=10240,
    ),
    # The chunked path (functions/pipeline/logic/chunked_steps.py, docs/chunked-transcoding.md).
    FunctionSpec(
        name="pipeline-split",
        handler="functions.pipeline.handlers.handle_split.handler",
        service="pipeline",
        description="Split a long source at keyframes: by its index (MP4, Matroska), else by stream copy",
        memory_mb=2048,
        timeout_s=900,
        media_tools=("ffmpeg",),
        env=MEDIA_ENV,
        grants={"videos_table": READ_WRITE, "upload_bucket": READ, "media_bucket": READ_WRITE},
        ephemeral_storage_mb=10240,
    ),
    FunctionSpec(
        name="pipeline-encode-chunk",
        handler="functions.pipeline.handlers.handle_encode_chunk.handler",
        service="pipeline",
        description="Encode one chunk to the rungs of one pass (a Map iteration)",
        memory_mb=10240,  # 6 vCPUs: x264 is CPU-bound, and Lambda gives CPU by memory
        timeout_s=900,
        media_tools=("ffmpeg",),
        env=MEDIA_ENV,
        grants={"videos_table": READ_WRITE, "upload_bucket": READ, "media_bucket": READ_WRITE},
        ephemeral_storage_mb=4096,
    ),
    FunctionSpec(
        name="pipeline-stitch",
        handler="functions.pipeline.handlers.handle_stitch.handler",
        service="pipeline",
        description="Stitch chunk segments into rung playlists and the master; VIEWABLE after the first pass",
        memory_mb=1024,
        timeout_s=120,
        env=MEDIA_ENV,
        grants={"videos_table": READ_WRITE, "media_bucket": READ_WRITE},
        puts_events=True,
    ),
    FunctionSpec(
        name="pipeline-thumbnails",
        handler="functions.pipeline.handlers.handle_thumbnails.handler",
        service="pipeline",
        description="Poster and storyboard (sprite sheet + WebVTT)",
        memory_mb=2048,
        timeout_s=300,
        media_tools=("ffmpeg",),
        env=MEDIA_ENV,
        grants={"upload_bucket": READ, "media_bucket": READ_WRITE},
        ephemeral_storage_mb=2048,
    ),
    FunctionSpec(
        name="pipeline-publish",
        handler="functions.pipeline.handlers.handle_publish.handler",
        service="pipeline",
        description="Mark READY, record renditions, emit video.ready",
        memory_mb=512,
        timeout_s=30,
        env=(*MEDIA_ENV, "PLATFORM_TABLE"),
        grants={"videos_table": READ_WRITE, "media_bucket": READ, "platform_table": READ_WRITE},
        puts_events=True,
    ),
    FunctionSpec(
        name="pipeline-compensate",
        handler="functions.pipeline.handlers.handle_compensate.handler",
        service="pipeline",
        description="Saga compensation: delete outputs, mark FAILED/REJECTED with reason, emit event",
        memory_mb=512,
        timeout_s=300,
        env=(*MEDIA_ENV, "PLATFORM_TABLE"),
        grants={"videos_table": READ_WRITE, "media_bucket": READ_WRITE, "platform_table": READ_WRITE},
        puts_events=True,
    ),
    FunctionSpec(
        name="pipeline-safety-net",
        handler="functions.pipeline.handlers.handle_execution_failed.handler",
        service="pipeline",
        description="Marks a video FAILED when its execution failed, timed out or was aborted",
        memory_mb=256,
        timeout_s=120,
        env=(*MEDIA_ENV, "PLATFORM_TABLE"),
        grants={"videos_table": READ_WRITE, "media_bucket": READ_WRITE, "platform_table": READ_WRITE},
        puts_events=True,
    ),
)

STATE_MACHINES: tuple[StateMachineSpec, ...] = (
    StateMachineSpec(
        name="media-pipeline",
        definition_file="media_pipeline.asl.json",
        function_substitutions={
            "AcquireSlotFunctionArn": "pipeline-acquire-slot",
            "ProbeFunctionArn": "pipeline-probe",
            "TranscodeFunctionArn": "pipeline-transcode",
            "ThumbnailsFunctionArn": "pipeline-thumbnails",
            "PublishFunctionArn": "pipeline-publish",
            "CompensateFunctionArn": "pipeline-compensate",
            "ModerateFunctionArn": "pipeline-moderate",
            "ModerateRangeFunctionArn": "pipeline-moderate-range",
            "ModerateVerdictFunctionArn": "pipeline-moderate-verdict",
            "ReviewFunctionArn": "pipeline-review",
            "SplitFunctionArn": "pipeline-split",
            "EncodeChunkFunctionArn": "pipeline-encode-chunk",
            "StitchFunctionArn": "pipeline-stitch",
        },
        item_reader_buckets=("media_bucket",),  # the chunk manifest written by pipeline-split
        # Above the longest review deadline plus everything else: a held video's AwaitReview
        # deadline fires first (FAILED review_timed_out), never the execution's (docs/moderation.md).
        timeout_s=PIPELINE_EXECUTION_TIMEOUT_SECONDS,
    ),
)


EXECUTION_RULES: tuple[ExecutionFailedRuleSpec, ...] = (
    ExecutionFailedRuleSpec(
        name="pipeline-execution-failed",
        state_machine="media-pipeline",
        statuses=("FAILED", "TIMED_OUT", "ABORTED"),
        target="pipeline-safety-net",
    ),
)
