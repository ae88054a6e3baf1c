"""The shapes of the wiring declaration: what a function, queue, rule, route or state machine is.

The domain modules beside this one declare instances; ``infra.spec`` assembles them. Nothing here
imports CDK or moto.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

STATEMACHINE_DIR = Path(__file__).parent.parent / "statemachines"


@dataclass(frozen=True)
class Resources:
    """Names and ARNs of deployed things: CDK tokens in the stack, literals in the emulator.

    Each field is also an environment variable (its name upper-cased, ``RESOURCE_ENV``) and a
    field of ``functions.shared.settings.Settings``: adding a resource is one line here and one
    there (tests/unit/test_spec_package.py checks that they agree)."""

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
    catalog_cursor_secret: str  # the HMAC key of the catalog's listing cursors, a secret of its own
    catalog_table: str
    catalog_views_table: str
    # Takedown (issue 13): the CloudFront distribution whose video paths are invalidated.
    cdn_distribution_id: str
    sessions_table: str  # playback sessions, resume and history (functions/sessions)


# Environment variable -> the Resources attribute that fills it.
RESOURCE_ENV: dict[str, str] = {f.name.upper(): f.name for f in fields(Resources)}

# Grants a function needs, by resource. The stack turns them into IAM grants; the emulator
# uses them only to check that the declaration is complete.
READ, WRITE, READ_WRITE = "read", "write", "read_write"
DELETE = "delete"  # buckets only: delete objects and object versions, nothing else
# Buckets only, for the takedown: list object versions and open multipart uploads, delete any
# version, abort uploads; no read of any object's content.
PURGE = "purge"

# The environments most functions of the video domains share.
BASE_ENV = ("VIDEOS_TABLE", "EVENT_BUS_NAME")
MEDIA_ENV = (*BASE_ENV, "UPLOAD_BUCKET", "MEDIA_BUCKET")


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
    # Keys of RESOURCE_ENV this function needs: its only resource names, on AWS and locally (the
    # embedded mode gives each invocation this environment, so a missing entry fails there too).
    env: tuple[str, ...] = ()
    grants: Mapping[str, str] = field(default_factory=dict)  # resource -> READ/WRITE/READ_WRITE/DELETE
    starts_executions: bool = False
    sends_task_tokens: bool = False  # states:SendTaskSuccess/Failure (admin review resumes the Saga)
    detects_moderation_labels: bool = False  # rekognition:DetectModerationLabels
    reads_moderation_config: bool = False  # AppConfig (the sensitive-word list)
    layers: tuple[str, ...] = ()  # extra Python dependency layers by pyproject extra, e.g. "moderation"
    puts_events: bool = False
    reads_secret: bool = False  # the CloudFront signing key
    reads_cursor_secret: bool = False  # the catalog cursors' HMAC key
    # Takedown: states:DescribeExecution/StopExecution on the pipeline's executions, and
    # cloudfront:CreateInvalidation on the one distribution.
    stops_executions: bool = False
    invalidates_cdn: bool = False
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


@dataclass(frozen=True)
class BusRuleSpec:
    """A rule on the platform's own event bus delivering matching events to a queue."""

    name: str
    pattern: Mapping[str, Any]
    queue: str  # QueueSpec.name


@dataclass(frozen=True)
class TableStreamSpec:
    """A table's stream consumed by a function (a Lambda event source mapping on AWS; the emulator
    polls the stream and invokes the function, like Lambda's poller)."""

    table: str  # key of table_schemas() (the model's Meta.stream_view_type enables the stream)
    consumer: str  # function name
    batch_size: int = 100
    max_batching_window_s: int = 1
    retry_attempts: int = 10  # then the batch's metadata goes to the stream's on-failure queue


@dataclass(frozen=True)
class BucketNotificationSpec:
    bucket: str  # Resources attribute
    prefix: str
    queue: str  # QueueSpec.name


@dataclass(frozen=True)
class Throttle:
    """API Gateway throttling of one route, for all callers together (the stage's RouteSettings)."""

    rate_limit: float  # steady requests per second
    burst_limit: int  # requests allowed at once above the steady rate


# The stack caps every route at the stage default (context api_throttle_rate_limit/burst_limit),
# so a deployer lowers them all with two values.
DEFAULT_THROTTLE = Throttle(rate_limit=50, burst_limit=100)


@dataclass(frozen=True)
class RouteSpec:
    method: str  # GET/POST/... or ANY
    path: str  # API Gateway route path; {name} is one segment, {proxy+} is greedy
    function: str
    auth: bool = True
    throttle: Throttle = DEFAULT_THROTTLE


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


@dataclass(frozen=True)
class ScheduleSpec:
    """A function invoked on a fixed rate (EventBridge Scheduler on AWS; a timer thread in the
    embedded mode), with a constant payload."""

    name: str
    target: str  # function name
    rate_s: int  # seconds between invocations (AWS: at least 60)
    payload: Mapping[str, Any] = field(default_factory=dict)
