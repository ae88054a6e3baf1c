"""Quality of experience: the CMCD collector (CloudFront real-time logs -> Kinesis -> function),
the session.ended consumer (bus rule -> queue -> function) and the table they write."""

from __future__ import annotations

from functions.qoe.contract import REALTIME_LOG_FIELDS, SAMPLING_RATE
from functions.qoe.models import SESSION_ENDED
from infra.spec.playback import PLAYLIST_PATH_PATTERN
from infra.spec.types import (
    READ_WRITE,
    BusRuleSpec,
    FunctionSpec,
    KinesisStreamSpec,
    QueueSpec,
    RealtimeLogSpec,
)

CMCD_COLLECTOR = "qoe-cmcd-collector"
SESSION_RECORDER = "qoe-session-recorder"
CMCD_STREAM = "cmcd-logs"
DEFAULT_BEHAVIOUR = "*"

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name=CMCD_COLLECTOR,
        handler="functions.qoe.handlers.handle_collect_cmcd.handler",
        service="qoe",
        description="CloudFront real-time log records (CMCD) -> per-session counters in the QoE table",
        memory_mb=256,
        timeout_s=60,
        env=("QOE_TABLE",),
        grants={"qoe_table": READ_WRITE},
    ),
    FunctionSpec(
        name=SESSION_RECORDER,
        handler="functions.qoe.handlers.handle_session_ended.handler",
        service="qoe",
        description="session.ended -> the session's QoE (Mux metrics) and its EMF metrics",
        memory_mb=256,
        timeout_s=30,
        env=("QOE_TABLE",),
        grants={"qoe_table": READ_WRITE},
    ),
)

QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(name="qoe-sessions", consumer=SESSION_RECORDER, batch_size=10, visibility_timeout_s=180),
)

# The sessions domain puts session.ended (contract: docs in functions/qoe/models.py SessionEnded).
BUS_RULES: tuple[BusRuleSpec, ...] = (
    BusRuleSpec(name="qoe-session-ended", pattern={"detail-type": [SESSION_ENDED]}, queue="qoe-sessions"),
)

KINESIS_STREAMS: tuple[KinesisStreamSpec, ...] = (
    KinesisStreamSpec(name=CMCD_STREAM, consumer=CMCD_COLLECTOR, batch_size=500, max_batching_window_s=2),
)

# The media behaviours: segments (the default behaviour, the media bucket) and playlists (the
# playlist origin); title images carry no CMCD worth keeping.
REALTIME_LOGS: tuple[RealtimeLogSpec, ...] = (
    RealtimeLogSpec(
        name="cmcd",
        stream=CMCD_STREAM,
        fields=REALTIME_LOG_FIELDS,
        sampling_rate=SAMPLING_RATE,
        path_patterns=(DEFAULT_BEHAVIOUR, PLAYLIST_PATH_PATTERN),
    ),
)
