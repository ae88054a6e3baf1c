"""Typed configuration, parsed once from the environment.

Every environment variable a function reads is a field here; logic never touches ``os.environ``.
The names are the contract between infra (CDK and the embedded emulator, both through
``infra.spec``) and the functions.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")

    # Resources
    videos_table: str = Field(default="vod-videos", alias="VIDEOS_TABLE")
    upload_bucket: str = Field(default="vod-uploads", alias="UPLOAD_BUCKET")
    media_bucket: str = Field(default="vod-media", alias="MEDIA_BUCKET")
    event_bus_name: str = Field(default="vod-events", alias="EVENT_BUS_NAME")
    state_machine_arn: str = Field(default="", alias="STATE_MACHINE_ARN")
    platform_table: str = Field(default="vod-platform", alias="PLATFORM_TABLE")
    idempotency_table: str = Field(default="vod-idempotency", alias="IDEMPOTENCY_TABLE")
    catalog_table: str = Field(default="vod-catalog", alias="CATALOG_TABLE")
    catalog_views_table: str = Field(default="vod-catalog-views", alias="CATALOG_VIEWS_TABLE")

    # Moderation
    moderation_word_list: str = Field(
        default="", alias="MODERATION_WORD_LIST", description="Local file (embedded mode); empty: AppConfig"
    )
    moderation_appconfig_app: str = Field(default="vod", alias="MODERATION_APPCONFIG_APPLICATION")
    moderation_appconfig_env: str = Field(default="prod", alias="MODERATION_APPCONFIG_ENVIRONMENT")
    moderation_appconfig_profile: str = Field(default="moderation", alias="MODERATION_APPCONFIG_PROFILE")
    moderation_config_max_age_s: int = Field(default=60, alias="MODERATION_CONFIG_MAX_AGE_SECONDS")
    frame_classifier: str = Field(default="rekognition", alias="FRAME_CLASSIFIER")  # rekognition | nudenet
    frame_sample_fps: float = Field(default=1.0, alias="FRAME_SAMPLE_FPS", gt=0, le=10)
    frame_scene_threshold: float = Field(default=0.4, alias="FRAME_SCENE_THRESHOLD", ge=0, le=1)
    frame_max_samples: int = Field(default=300, alias="FRAME_MAX_SAMPLES", ge=1)
    moderation_threshold: float = Field(default=0.82, alias="MODERATION_THRESHOLD", ge=0, le=1)
    moderation_review_threshold: float = Field(default=0.6, alias="MODERATION_REVIEW_THRESHOLD", ge=0, le=1)
    copyright_max_distance: int = Field(default=10, alias="COPYRIGHT_MAX_HAMMING_DISTANCE", ge=0, le=64)
    copyright_min_matched_seconds: float = Field(default=5.0, alias="COPYRIGHT_MIN_MATCHED_SECONDS", ge=0)

    # Webhooks
    webhook_timeout_s: float = Field(default=5.0, alias="WEBHOOK_TIMEOUT_SECONDS", gt=0)
    webhook_max_attempts: int = Field(default=4, alias="WEBHOOK_MAX_ATTEMPTS", ge=1, le=10)
    webhook_allow_http: bool = Field(default=False, alias="WEBHOOK_ALLOW_HTTP")  # embedded mode only

    # Uploads
    upload_url_ttl_seconds: int = Field(default=3600, alias="UPLOAD_URL_TTL_SECONDS", ge=60, le=7 * 86400)
    multipart_threshold_bytes: int = Field(default=100 * 1024 * 1024, alias="MULTIPART_THRESHOLD_BYTES")
    multipart_part_bytes: int = Field(
        default=64 * 1024 * 1024, alias="MULTIPART_PART_BYTES", ge=5 * 1024 * 1024
    )
    max_upload_bytes: int = Field(default=20 * 1024**3, alias="MAX_UPLOAD_BYTES")

    # Priority classes (functions/videos/logic/priority.py, docs/priority-classes.md): the most
    # pipeline executions of a class past AcquireSlot at once, and uploads in flight per user.
    pipeline_budget_standard: int = Field(default=20, alias="PIPELINE_BUDGET_STANDARD", ge=1, le=10_000)
    pipeline_budget_priority: int = Field(default=10, alias="PIPELINE_BUDGET_PRIORITY", ge=1, le=10_000)
    pipeline_slot_lease_seconds: int = Field(
        default=3 * 3600 + 600, alias="PIPELINE_SLOT_LEASE_SECONDS", ge=60, le=7 * 86400
    )
    max_active_uploads_per_user: int = Field(default=5, alias="MAX_ACTIVE_UPLOADS_PER_USER", ge=1, le=10_000)

    # Media limits
    max_duration_seconds: float = Field(default=4 * 3600, alias="MAX_DURATION_SECONDS")
    segment_seconds: int = Field(default=4, alias="SEGMENT_SECONDS", ge=1, le=30)
    ffmpeg_path: str = Field(default="ffmpeg", alias="FFMPEG_PATH")
    ffprobe_path: str = Field(default="ffprobe", alias="FFPROBE_PATH")
    x264_preset: str = Field(default="veryfast", alias="X264_PRESET")
    work_dir: str = Field(default="/tmp", alias="WORK_DIR")

    # Chunked (parallel) encoding: sources longer than the threshold are split at keyframes into
    # chunks of about the target length and encoded by a Map state (docs/chunked-transcoding.md).
    chunk_threshold_seconds: float = Field(default=120.0, alias="CHUNK_THRESHOLD_SECONDS", ge=0)
    chunk_target_seconds: float = Field(default=60.0, alias="CHUNK_TARGET_SECONDS", ge=1)
    # Up to this many chunks the Map runs inline (one execution history); above it, Distributed.
    inline_map_max_chunks: int = Field(default=40, alias="INLINE_MAP_MAX_CHUNKS", ge=1)
    map_max_concurrency: int = Field(default=1000, alias="MAP_MAX_CONCURRENCY", ge=1, le=10_000)

    # Playback (CloudFront signed URLs)
    cdn_base_url: str = Field(default="http://127.0.0.1:8787", alias="CDN_BASE_URL")
    cloudfront_key_pair_id: str = Field(default="", alias="CLOUDFRONT_KEY_PAIR_ID")
    cloudfront_private_key_secret: str = Field(
        default="vod/cloudfront-private-key", alias="CLOUDFRONT_PRIVATE_KEY_SECRET"
    )
    playback_ttl_seconds: int = Field(default=3600, alias="PLAYBACK_TTL_SECONDS", ge=60, le=86400)
    playback_bind_ip: bool = Field(default=False, alias="PLAYBACK_BIND_IP")

    # Catalog: the HMAC key of listing cursors. Empty: derived from the CloudFront signing key
    # (a secret the API function already reads); the embedded mode sets a generated one.
    catalog_cursor_key: str = Field(default="", alias="CATALOG_CURSOR_KEY", repr=False)
    catalog_page_size: int = Field(default=20, alias="CATALOG_PAGE_SIZE", ge=1, le=100)

    # Observability
    service_name: str = Field(default="vod", alias="POWERTOOLS_SERVICE_NAME")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
