"""The one declaration of how the platform is wired.

Both the CDK stack (``infra.stack``) and the embedded emulator (``infra.local.emulator``) read
this module: functions and their handlers, the environment each gets, buckets, queues and
their triggers, tables (schema from the PynamoDB models), routes, state machines with their
definition substitutions, and event rules. Nothing here imports CDK or moto.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.catalog.models import EVENT_SOURCE as CATALOG_EVENT_SOURCE
from functions.catalog.models import TITLE_EVENTS
from functions.shared.keys import COVERS_PREFIX, IMAGES_PREFIX
from functions.videos.logic.priority import CLASSES as PRIORITY_CLASSES

STATEMACHINE_DIR = Path(__file__).parent / "statemachines"


@dataclass(frozen=True)
class Resources:
    """Names and ARNs of deployed things: CDK tokens in the stack, literals in the emulator."""

    videos_table: str
    platform_table: str
    idempotency_table: str
    upload_bucket: str
    media_bucket: str
    event_bus_name: str
    state_machine_arn: str
    cdn_base_url: str
    cloudfront_key_pair_id: str
    cloudfront_private_key_secret: str
    catalog_table: str
    catalog_views_table: str


# Environment variable -> the Resources attribute that fills it.
RESOURCE_ENV: dict[str, str] = {
    "VIDEOS_TABLE": "videos_table",
    "PLATFORM_TABLE": "platform_table",
    "IDEMPOTENCY_TABLE": "idempotency_table",
    "UPLOAD_BUCKET": "upload_bucket",
    "MEDIA_BUCKET": "media_bucket",
    "EVENT_BUS_NAME": "event_bus_name",
    "STATE_MACHINE_ARN": "state_machine_arn",
    "CDN_BASE_URL": "cdn_base_url",
    "CLOUDFRONT_KEY_PAIR_ID": "cloudfront_key_pair_id",
    "CLOUDFRONT_PRIVATE_KEY_SECRET": "cloudfront_private_key_secret",
    "CATALOG_TABLE": "catalog_table",
    "CATALOG_VIEWS_TABLE": "catalog_views_table",
}

# Grants a function needs, by resource. The stack turns them into IAM grants; the emulator
# uses them only to check that the declaration is complete.
READ, WRITE, READ_WRITE = "read", "write", "read_write"


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # logical name; also the local function name
    handler: str  # module:function, e.g. functions.api.handle_api.handler
    service: str  # POWERTOOLS_SERVICE_NAME
    description: str
    memory_mb: int = 256
    timeout_s: int = 30
    # Media tools the function needs, each its own layer: ffmpeg and ffprobe together with the
    # deps layer exceed Lambda's 250 MB unzipped limit on x86_64 (layers/media/README.md).
    media_tools: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # keys of RESOURCE_ENV this function needs
    grants: Mapping[str, str] = field(default_factory=dict)  # resource -> READ/WRITE/READ_WRITE
    starts_executions: bool = False
    sends_task_tokens: bool = False  # states:SendTaskSuccess/Failure (admin review resumes the Saga)
    detects_moderation_labels: bool = False  # rekognition:DetectModerationLabels
    reads_moderation_config: bool = False  # AppConfig (the sensitive-word list)
    layers: tuple[str, ...] = ()  # extra Python dependency layers by pyproject extra, e.g. "moderation"
    puts_events: bool = False
    reads_secret: bool = False
    ephemeral_storage_mb: int = 512
    # A Function URL with AuthType AWS_IAM: reachable only by a CloudFront distribution
    # through origin access control (the stack grants the distribution, and nobody else).
    function_url: bool = False
    # Reserved concurrency (None: unreserved). 1 serialises a consumer, e.g. the catalog projector.
    reserved_concurrency: int | None = None

    @property
    def media(self) -> bool:
        return bool(self.media_tools)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


# CloudFront's cache behaviour for HLS playlists and the function behind it (a Function URL origin,
# infra.constructs.cdn_construct); the local edge (infra.local.edge) routes the same paths to it.
PLAYLIST_PATH_PATTERN = "*.m3u8"
PLAYLIST_ORIGIN = "playlist-origin"
# Title images (covers, backdrops): public, so no signed URL; CloudFront has a behaviour for them
# that trusts no key group, and the local edge serves the same paths unsigned.
PUBLIC_IMAGES_PATH_PATTERN = f"{IMAGES_PREFIX}*"

_BASE_ENV = ("VIDEOS_TABLE", "EVENT_BUS_NAME")
_MEDIA_ENV = (*_BASE_ENV, "UPLOAD_BUCKET", "MEDIA_BUCKET")

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="videos-api",
        handler="functions.api.handle_api.handler",
        service="videos-api",
        description="HTTP API: create videos, read them, start playback",
        memory_mb=512,
        timeout_s=15,
        env=(
            *_BASE_ENV,
            "UPLOAD_BUCKET",
            "MEDIA_BUCKET",
            "STATE_MACHINE_ARN",
            "CDN_BASE_URL",
            "CLOUDFRONT_KEY_PAIR_ID",
            "CLOUDFRONT_PRIVATE_KEY_SECRET",
            "PLATFORM_TABLE",
            "CATALOG_TABLE",
            "CATALOG_VIEWS_TABLE",
        ),
        grants={
            "videos_table": READ_WRITE,
            "upload_bucket": WRITE,
            "platform_table": READ_WRITE,
            "catalog_table": READ_WRITE,
            "catalog_views_table": READ,
        },
        reads_secret=True,
        starts_executions=True,  # safe retry, approval of a rejected video
        sends_task_tokens=True,  # admin review of a video held in the grey band
    ),
    FunctionSpec(
        name="ingest-starter",
        handler="functions.videos.handlers.handle_ingest.handler",
        service="ingest",
        description="Marks an uploaded video UPLOADED and starts its pipeline execution (idempotent)",
        memory_mb=256,
        timeout_s=30,
        env=(*_BASE_ENV, "UPLOAD_BUCKET", "STATE_MACHINE_ARN"),
        grants={"videos_table": READ_WRITE},
        starts_executions=True,
    ),
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
        env=_MEDIA_ENV,
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
        env=_MEDIA_ENV,
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
        env=_MEDIA_ENV,
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
        env=_MEDIA_ENV,
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
        env=_MEDIA_ENV,
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
        env=_MEDIA_ENV,
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
        env=(*_MEDIA_ENV, "PLATFORM_TABLE"),
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
        env=(*_MEDIA_ENV, "PLATFORM_TABLE"),
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
        env=(*_MEDIA_ENV, "PLATFORM_TABLE"),
        grants={"videos_table": READ_WRITE, "media_bucket": READ_WRITE, "platform_table": READ_WRITE},
        puts_events=True,
    ),
    FunctionSpec(
        name=PLAYLIST_ORIGIN,
        handler="functions.playback.handlers.handle_playlist.handler",
        service="playback",
        description="CloudFront origin of *.m3u8: copies the viewer's signed query into every playlist URI",
        memory_mb=512,
        timeout_s=10,
        env=("MEDIA_BUCKET",),
        grants={"media_bucket": READ},
        function_url=True,
    ),
    FunctionSpec(
        name="pipeline-moderate",
        handler="functions.moderation.handlers.handle_moderate.handler",
        service="moderation",
        description="Moderation checks: sensitive words, frame classifier, copyright fingerprints",
        memory_mb=3008,
        timeout_s=600,
        media_tools=("ffmpeg",),
        layers=("moderation",),
        env=(*_MEDIA_ENV, "PLATFORM_TABLE"),
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
        env=_MEDIA_ENV,
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
        env=(*_MEDIA_ENV, "PLATFORM_TABLE"),
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
        env=_BASE_ENV,
        grants={"videos_table": READ_WRITE},
    ),
    FunctionSpec(
        name="webhook-dispatcher",
        handler="functions.webhooks.handlers.handle_dispatch.handler",
        service="webhooks",
        description="Delivers domain events to subscribers, signed (HMAC-SHA256), retried, recorded",
        memory_mb=512,
        timeout_s=120,
        env=(*_BASE_ENV, "PLATFORM_TABLE", "IDEMPOTENCY_TABLE"),
        # videos: READ to learn the owner of a rejected/failed video (its event may not carry it)
        grants={"platform_table": READ_WRITE, "idempotency_table": READ_WRITE, "videos_table": READ},
    ),
)

# The catalog's CQRS path: table stream -> publisher -> bus -> queue -> projector (docs/catalog.md).
CATALOG_FUNCTIONS: tuple[FunctionSpec, ...] = (
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
)
FUNCTIONS = (*FUNCTIONS, *CATALOG_FUNCTIONS)

# Title covers: uploads under covers/ -> covers queue -> renderer (functions/catalog/logic/covers_render.py).
COVERS_FUNCTIONS: tuple[FunctionSpec, ...] = (
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
FUNCTIONS = (*FUNCTIONS, *COVERS_FUNCTIONS)

FUNCTIONS_BY_NAME = {f.name: f for f in FUNCTIONS}


def function_environment(fn: FunctionSpec, res: Resources, settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of one function: its resources, its service name, the Powertools settings
    every function shares, and the deployer's settings (which win)."""
    env = {key: getattr(res, RESOURCE_ENV[key]) for key in fn.env}
    env.update(
        {
            "POWERTOOLS_SERVICE_NAME": fn.service,
            "POWERTOOLS_METRICS_NAMESPACE": "Vod",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # Signed playback URLs and presigned upload URLs travel in events and responses:
            # keep them out of logs and X-Ray traces.
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        }
    )
    env.update(settings)
    return env


@dataclass(frozen=True)
class QueueSpec:
    name: str
    consumer: str  # function name
    batch_size: int = 10
    visibility_timeout_s: int = 180  # >= 6x the consumer's timeout, as AWS advises
    max_receive_count: int = 5  # then the message moves to the DLQ
    max_batching_window_s: int = 0
    max_concurrency: int | None = None  # the event source mapping's MaximumConcurrency (2..1000)


QUEUES: tuple[QueueSpec, ...] = (
    # One ingest queue per priority class, each with its own share of starter concurrency.
    *(
        QueueSpec(name=c.queue, consumer="ingest-starter", max_concurrency=c.starter_concurrency)
        for c in PRIORITY_CLASSES
    ),
    # visibility >= 6x the dispatcher's timeout; SQS redrive retries whole batches later on.
    # One delivery may take ~75 s with retries: small batches keep a batch inside the timeout.
    QueueSpec(
        name="webhooks",
        consumer="webhook-dispatcher",
        batch_size=2,
        visibility_timeout_s=720,
        max_receive_count=5,
    ),
)


# The catalog projector's queue (fed by the catalog-projections bus rule).
CATALOG_QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(
        name="catalog-projections", consumer="catalog-projector", batch_size=10, visibility_timeout_s=360
    ),
)
QUEUES = (*QUEUES, *CATALOG_QUEUES)
# One image per invocation: memory holds one decoded image at a time.
QUEUES = (
    *QUEUES,
    QueueSpec(name="covers", consumer="covers-renderer", batch_size=1, visibility_timeout_s=360),
)


@dataclass(frozen=True)
class BusRuleSpec:
    """A rule on the platform's own event bus delivering matching events to a queue."""

    name: str
    pattern: Mapping[str, Any]
    queue: str  # QueueSpec.name


BUS_RULES: tuple[BusRuleSpec, ...] = (
    BusRuleSpec(
        name="webhook-events",
        pattern={"source": ["vod.videos"], "detail-type": ["video.ready", "video.rejected", "video.failed"]},
        queue="webhooks",
    ),
)


BUS_RULES = (
    *BUS_RULES,
    BusRuleSpec(
        name="catalog-projections",
        pattern={"source": [CATALOG_EVENT_SOURCE], "detail-type": list(TITLE_EVENTS)},
        queue="catalog-projections",
    ),
)


@dataclass(frozen=True)
class TableStreamSpec:
    """A table's stream consumed by a function (a Lambda event source mapping on AWS; the emulator
    polls the stream and invokes the function, like Lambda's poller)."""

    table: str  # key of table_schemas() (the model's Meta.stream_view_type enables the stream)
    consumer: str  # function name
    batch_size: int = 100
    max_batching_window_s: int = 1
    retry_attempts: int = 10  # then the batch's metadata goes to the stream's on-failure queue


TABLE_STREAMS: tuple[TableStreamSpec, ...] = (TableStreamSpec(table="catalog", consumer="catalog-publisher"),)


@dataclass(frozen=True)
class BucketNotificationSpec:
    bucket: str  # Resources attribute
    prefix: str
    queue: str  # QueueSpec.name


BUCKET_NOTIFICATIONS: tuple[BucketNotificationSpec, ...] = (
    # Each priority class's uploads go to its own ingest queue.
    *(
        BucketNotificationSpec(bucket="upload_bucket", prefix=c.upload_prefix, queue=c.queue)
        for c in PRIORITY_CLASSES
    ),
    BucketNotificationSpec(bucket="upload_bucket", prefix=COVERS_PREFIX, queue="covers"),
)


@dataclass(frozen=True)
class Throttle:
    """API Gateway throttling of one route, for all callers together (the stage's RouteSettings)."""

    rate_limit: float  # steady requests per second
    burst_limit: int  # requests allowed at once above the steady rate


# The stack caps every route at the stage default (context api_throttle_rate_limit/burst_limit),
# so a deployer lowers them all with two values. Tighter budgets: routes that start costly work
# (a video: an upload target, then a pipeline run), search (several index queries per request),
# and the public routes, which anyone may call without a token.
DEFAULT_THROTTLE = Throttle(rate_limit=50, burst_limit=100)
SEARCH_THROTTLE = Throttle(rate_limit=20, burst_limit=40)
CREATE_VIDEO_THROTTLE = Throttle(rate_limit=10, burst_limit=20)
PUBLIC_THROTTLE = Throttle(rate_limit=10, burst_limit=20)


@dataclass(frozen=True)
class RouteSpec:
    method: str  # GET/POST/... or ANY
    path: str  # API Gateway route path; {name} is one segment, {proxy+} is greedy
    function: str
    auth: bool = True
    throttle: Throttle = DEFAULT_THROTTLE


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("GET", "/health", "videos-api", auth=False, throttle=PUBLIC_THROTTLE),
    RouteSpec("GET", "/v1/openapi.json", "videos-api", auth=False, throttle=PUBLIC_THROTTLE),
    RouteSpec("ANY", "/v1/videos", "videos-api", throttle=CREATE_VIDEO_THROTTLE),  # POST: create
    RouteSpec("ANY", "/v1/videos/{proxy+}", "videos-api"),
    RouteSpec("ANY", "/v1/moderation/{proxy+}", "videos-api"),
    RouteSpec("ANY", "/v1/webhooks", "videos-api"),
    RouteSpec("ANY", "/v1/webhooks/{proxy+}", "videos-api"),
    RouteSpec("ANY", "/v1/titles", "videos-api"),
    RouteSpec("ANY", "/v1/titles/{proxy+}", "videos-api"),
    RouteSpec("GET", "/v1/search", "videos-api", throttle=SEARCH_THROTTLE),
    RouteSpec("ANY", "/v1/profiles", "videos-api"),
    RouteSpec("ANY", "/v1/profiles/{proxy+}", "videos-api"),
)


@dataclass(frozen=True)
class StateMachineSpec:
    name: str
    definition_file: str
    # ASL placeholder -> function name whose ARN replaces it
    function_substitutions: Mapping[str, str]
    timeout_s: int = 3 * 3600
    # Buckets (Resources attributes) a Distributed Map's ItemReader reads its items from.
    item_reader_buckets: tuple[str, ...] = ()

    @property
    def has_distributed_map(self) -> bool:
        return '"DISTRIBUTED"' in self.path.read_text()

    @property
    def path(self) -> Path:
        return STATEMACHINE_DIR / self.definition_file

    def definition(self, function_arns: Mapping[str, str]) -> str:
        """The ASL text with every ``${Placeholder}`` replaced: the emulator's twin of CDK's
        ``DefinitionBody.from_file(..., definition_substitutions=...)``."""
        text = self.path.read_text()
        for placeholder, fn_name in self.function_substitutions.items():
            text = text.replace("${" + placeholder + "}", function_arns[fn_name])
        if "${" in text:
            raise ValueError(f"{self.definition_file}: unresolved placeholder in definition")
        return text


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
    ),
)


@dataclass(frozen=True)
class ExecutionFailedRuleSpec:
    """EventBridge rule on Step Functions status changes of a state machine -> a function."""

    name: str
    state_machine: str
    statuses: tuple[str, ...]
    target: str

    def pattern(self, state_machine_arn: str) -> dict[str, Any]:
        return {
            "source": ["aws.states"],
            "detail-type": ["Step Functions Execution Status Change"],
            "detail": {"status": list(self.statuses), "stateMachineArn": [state_machine_arn]},
        }


EXECUTION_RULES: tuple[ExecutionFailedRuleSpec, ...] = (
    ExecutionFailedRuleSpec(
        name="pipeline-execution-failed",
        state_machine="media-pipeline",
        statuses=("FAILED", "TIMED_OUT", "ABORTED"),
        target="pipeline-safety-net",
    ),
)


def table_schemas() -> dict[str, dict[str, Any]]:
    from functions.videos.dal.tables import TABLE_MODELS, table_schema

    return {name: table_schema(model) for name, model in TABLE_MODELS.items()}
