"""Typed configuration, parsed once from the environment.

Every environment variable a function reads is a field here; logic never touches ``os.environ``.
The names are the contract between infra (CDK and the embedded emulator, both through
``infra.spec``) and the functions.

Resource names (tables, buckets, the bus, ...) have no defaults: a function's environment holds
only those its ``FunctionSpec.env`` declares, and reading another raises ``MissingSetting`` naming
the variable. Only a read fails, so a function that never touches a resource still starts. The
embedded mode runs every function in one process: ``invocation()`` gives each invocation its own
function's settings, which ``get_settings()`` returns, so a missing declaration fails locally
exactly as it would on AWS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, ClassVar, overload

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MissingSetting(RuntimeError):
    """A function read a resource name its environment does not have."""

    def __init__(self, variable: str):
        super().__init__(
            f"{variable} is not in this function's environment: declare it in infra/spec (FunctionSpec.env)"
        )
        self.variable = variable


class Resource:
    """A resource name: required, but only when read (``Settings.resources`` holds the values)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.variable = name.upper()  # the environment variable: RESOURCE_ENV in infra/spec

    @overload
    def __get__(self, obj: None, owner: type) -> Resource: ...
    @overload
    def __get__(self, obj: Settings, owner: type) -> str: ...
    def __get__(self, obj: Settings | None, owner: type) -> Resource | str:
        if obj is None:
            return self
        value = obj.resources.get(self.variable)
        if value is None:
            raise MissingSetting(self.variable)
        return value


# The largest REVIEW_DEADLINE_SECONDS: the media pipeline's execution timeout must exceed it plus
# the time before and after the review (tests/unit/test_state_timeouts.py).
REVIEW_DEADLINE_MAX_SECONDS = 14 * 86400
# An execution's time outside the review wait, at most: the AcquireSlot queue (its retries give up
# after 1500 polls of at most 15 s, about 6 h: FAILED queue_timeout), the processing states (each
# with its own timeout), Publish or Compensate. A day leaves ample room.
PIPELINE_OUTSIDE_REVIEW_SECONDS = 86400
# The media pipeline's execution timeout (its StateMachineSpec.timeout_s and the ASL's top-level
# TimeoutSeconds): a held video's deadline always fires first, so it never ends TIMED_OUT.
PIPELINE_EXECUTION_TIMEOUT_SECONDS = REVIEW_DEADLINE_MAX_SECONDS + PIPELINE_OUTSIDE_REVIEW_SECONDS


class Settings(BaseModel):
    """Read from an environment by ``from_environ`` (``get_settings()`` does it); ``Settings(...)``
    alone takes only its keyword values (by variable name) and defaults."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")

    # Resources: one per field of infra.spec.Resources (a test checks that they agree), each read
    # from the variable of its name upper-cased. ``resources`` holds those the environment has.
    resources: Mapping[str, str] = Field(default_factory=dict, repr=False)
    videos_table: ClassVar[Resource] = Resource()
    platform_table: ClassVar[Resource] = Resource()
    idempotency_table: ClassVar[Resource] = Resource()
    upload_bucket: ClassVar[Resource] = Resource()
    media_bucket: ClassVar[Resource] = Resource()
    event_bus_name: ClassVar[Resource] = Resource()
    state_machine_arn: ClassVar[Resource] = Resource()
    cdn_base_url: ClassVar[Resource] = Resource()
    cloudfront_key_pair_id: ClassVar[Resource] = Resource()
    cloudfront_private_key_secret: ClassVar[Resource] = Resource()
    catalog_cursor_secret: ClassVar[Resource] = Resource()
    catalog_table: ClassVar[Resource] = Resource()
    catalog_views_table: ClassVar[Resource] = Resource()
    cdn_distribution_id: ClassVar[Resource] = Resource()  # takedown: CreateInvalidation
    sessions_table: ClassVar[Resource] = Resource()  # playback sessions, resume and history

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
    # How long a video held for review (IN_REVIEW) waits for an admin before it ends FAILED
    # review_timed_out: the AwaitReview state's TimeoutSecondsPath, put in each execution's input by
    # the starter. The media pipeline's execution timeout covers the largest value (docs/moderation.md).
    review_deadline_seconds: int = Field(
        default=7 * 86400, alias="REVIEW_DEADLINE_SECONDS", ge=1, le=REVIEW_DEADLINE_MAX_SECONDS
    )

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

    # Playback (CloudFront signed URLs; the CDN's URL and key are resources, above)
    playback_ttl_seconds: int = Field(default=3600, alias="PLAYBACK_TTL_SECONDS", ge=60, le=86400)
    playback_bind_ip: bool = Field(default=False, alias="PLAYBACK_BIND_IP")

    # Catalog: the HMAC key of listing cursors. Empty: derived from the CloudFront signing key
    # (a secret the API function already reads); the embedded mode sets a generated one.
    catalog_cursor_key: str = Field(default="", alias="CATALOG_CURSOR_KEY", repr=False)
    catalog_page_size: int = Field(default=20, alias="CATALOG_PAGE_SIZE", ge=1, le=100)

    # Playback sessions, resume and history (functions/sessions, docs in README "Sessions & history")
    heartbeat_interval_seconds: int = Field(default=10, alias="HEARTBEAT_INTERVAL_SECONDS", ge=1, le=300)
    # A session silent this long is expired (the sweeper ends it; DynamoDB TTL is the backstop).
    session_silence_seconds: int = Field(default=120, alias="SESSION_SILENCE_SECONDS", ge=5, le=86400)
    max_concurrent_streams: int = Field(default=4, alias="MAX_CONCURRENT_STREAMS", ge=1, le=100)
    # How far past the video's duration a reported position may be (players overshoot a little).
    session_position_slack_seconds: float = Field(
        default=5.0, alias="SESSION_POSITION_SLACK_SECONDS", ge=0, le=600
    )
    history_page_size: int = Field(default=20, alias="HISTORY_PAGE_SIZE", ge=1, le=100)

    # Observability
    service_name: str = Field(default="vod", alias="POWERTOOLS_SERVICE_NAME")

    @model_validator(mode="before")
    @classmethod
    def _gather_resources(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "resources" not in data:
            found = {v: data[v] for v in RESOURCE_VARIABLES if v in data}
            return {**data, "resources": found}
        return data

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """The settings one environment gives (the variables exactly as a function has them)."""
        return cls.model_validate(dict(environ))


RESOURCE_VARIABLES = tuple(attr.variable for attr in vars(Settings).values() if isinstance(attr, Resource))
# Variables of the non-resource settings: in the embedded mode they are the process's own.
_SETTING_VARIABLES = tuple(
    f.alias for name, f in Settings.model_fields.items() if f.alias and name != "resources"
)


# The settings of the invocation running in this context (the embedded mode; None on AWS, where a
# process is one function and its environment is os.environ).
_INVOCATION: ContextVar[Settings | None] = ContextVar("invocation_settings", default=None)


@lru_cache(maxsize=128)
def _settings_for(items: frozenset[tuple[str, str]]) -> Settings:
    # One object per distinct environment: table bindings and caches keyed on it stay warm.
    return Settings.from_environ(dict(items))


@lru_cache(maxsize=1)
def _process_settings() -> Settings:
    return Settings.from_environ(os.environ)


class _GetSettings:
    """``get_settings()``: the current invocation's settings, else the process's (parsed once).
    ``get_settings.cache_clear()`` forgets parsed settings (the emulator on new endpoints, tests
    that change the environment)."""

    def __call__(self) -> Settings:
        current = _INVOCATION.get()
        return current if current is not None else _process_settings()

    def cache_clear(self) -> None:
        _process_settings.cache_clear()
        _settings_for.cache_clear()


get_settings = _GetSettings()


@contextmanager
def invocation(environment: Mapping[str, str]) -> Iterator[Settings]:
    """Run one invocation with ``environment`` as its function's environment (the embedded mode).

    Its resource names come from ``environment`` only; other settings are the process's (region,
    tool paths, a test's monkeypatched limits), overridden by ``environment``. Threads the handler
    starts see them only through ``functions.shared.threads`` (a ContextVar is per thread)."""
    process = {v: os.environ[v] for v in _SETTING_VARIABLES if v in os.environ}
    settings = _settings_for(frozenset({**process, **environment}.items()))
    token = _INVOCATION.set(settings)
    try:
        yield settings
    finally:
        _INVOCATION.reset(token)
