"""Playback sessions and history: the stream recorder (history entries, ``session.ended``), the
sweeper of silent sessions (a schedule) and the takedown consumer (``video.deleted``).

The routes (heartbeat, /v1/me/...) are the API function's (infra/spec/api.py)."""

from __future__ import annotations

from functions.shared.events import SOURCE as VIDEO_EVENT_SOURCE
from infra.spec.types import (
    READ_WRITE,
    BusRuleSpec,
    FunctionSpec,
    QueueSpec,
    ScheduleSpec,
    TableStreamSpec,
)

RECORDER = "sessions-recorder"
SWEEPER = "sessions-sweeper"
TAKEDOWN = "sessions-takedown"
# How often silent sessions are looked for; the silence itself is SESSION_SILENCE_SECONDS
# (default 120 s), so a session ends between 120 and 180 s after its last heartbeat.
SWEEP_RATE_S = 60

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name=RECORDER,
        handler="functions.sessions.handlers.handle_record.handler",
        service="sessions",
        description="Sessions table stream -> history entries and session.ended events",
        memory_mb=256,
        timeout_s=60,
        env=("SESSIONS_TABLE", "EVENT_BUS_NAME"),
        grants={"sessions_table": READ_WRITE},
        puts_events=True,
    ),
    FunctionSpec(
        name=SWEEPER,
        handler="functions.sessions.handlers.handle_sweep.handler",
        service="sessions",
        description="Ends playback sessions silent past the configured silence (end_reason expired)",
        memory_mb=256,
        timeout_s=120,
        env=("SESSIONS_TABLE",),
        grants={"sessions_table": READ_WRITE},
        reserved_concurrency=1,  # one sweep at a time: two would race for the same sessions
    ),
    FunctionSpec(
        name=TAKEDOWN,
        handler="functions.sessions.handlers.handle_video_deleted.handler",
        service="sessions",
        description="video.deleted -> the video's open sessions end (end_reason taken_down)",
        memory_mb=256,
        timeout_s=60,
        env=("SESSIONS_TABLE",),
        grants={"sessions_table": READ_WRITE},
    ),
)

QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(name="sessions-takedown", consumer=TAKEDOWN, batch_size=10, visibility_timeout_s=360),
)

BUS_RULES: tuple[BusRuleSpec, ...] = (
    BusRuleSpec(
        name="sessions-takedown",
        pattern={"source": [VIDEO_EVENT_SOURCE], "detail-type": ["video.deleted"]},
        queue="sessions-takedown",
    ),
)

TABLE_STREAMS: tuple[TableStreamSpec, ...] = (TableStreamSpec(table="sessions", consumer=RECORDER),)

SCHEDULES: tuple[ScheduleSpec, ...] = (
    ScheduleSpec(name="sessions-sweep", target=SWEEPER, rate_s=SWEEP_RATE_S),
)
