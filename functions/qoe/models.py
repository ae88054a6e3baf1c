"""The QoE domain's data shapes: what the collector adds per session, the session.ended event's
detail (the sessions domain's contract), and the API's answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.schema import ApiModel


@dataclass
class SessionCmcd:
    """What one batch adds to one session's CMCD counters."""

    session_id: str
    video_id: str | None = None
    requests: int = 0
    media_requests: int = 0
    bitrate_sum_kbps: int = 0
    bitrate_samples: int = 0
    bitrates_kbps: set[int] = field(default_factory=set)
    top_bitrate_kbps: int | None = None
    last_bitrate_kbps: int | None = None
    last_buffer_ms: int | None = None
    last_throughput_kbps: int | None = None
    starvations: int = 0
    startup_requests: int = 0
    errors: int = 0
    first_at: str | None = None
    last_at: str | None = None
    stream_type: str | None = None
    streaming_format: str | None = None


# -- session.ended (put by the sessions domain; its contract) -----------------------------------
SESSION_ENDED = "session.ended"
EndReason = Literal["ended", "error", "expired", "taken_down"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SessionQoe(_Event):
    first_playing_at: str | None = None
    startup_time_ms: int | None = Field(default=None, ge=0, le=24 * 3600 * 1000)
    watch_time_ms: int = Field(default=0, ge=0)
    rebuffer_count: int = Field(default=0, ge=0)
    rebuffer_duration_ms: int = Field(default=0, ge=0)
    errored: bool = False
    error_code: str | None = Field(default=None, max_length=128)
    exited_before_start: bool = False


class SessionEnded(_Event):
    """The detail of a ``session.ended`` event."""

    session_id: str = Field(min_length=1, max_length=128)
    video_id: str = Field(min_length=1, max_length=128)
    user_id: str | None = None
    profile_id: str | None = None
    started_at: str | None = None
    ended_at: str = Field(min_length=1, max_length=64)
    end_reason: EndReason
    final_state: str | None = None
    position_seconds: float | None = Field(default=None, ge=0)
    duration_seconds: float | None = Field(default=None, ge=0)
    qoe: SessionQoe = Field(default_factory=SessionQoe)


# -- GET /v1/videos/{id}/qoe ---------------------------------------------------------------------
class SessionQoeView(ApiModel):
    session_id: str
    started_at: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    startup_time_ms: int | None = None
    watch_time_ms: int = 0
    rebuffer_count: int = 0
    rebuffer_duration_ms: int = 0
    rebuffer_percentage: float | None = None
    errored: bool = False
    error_code: str | None = None
    exited_before_start: bool = False
    # From the CMCD the player sent on its requests (None when it sent none)
    cmcd_requests: int = 0
    average_bitrate_kbps: float | None = None
    bitrates_kbps: list[int] = Field(default_factory=list)
    top_bitrate_kbps: int | None = None
    buffer_starvations: int = 0


class QoeSummary(ApiModel):
    video_id: str
    count: int = Field(description="Sessions summarised (the last N that ended)")
    startup_time_p50_ms: float | None = None
    startup_time_p95_ms: float | None = None
    startup_time_p99_ms: float | None = None
    rebuffer_percentage: float | None = Field(
        default=None, description="Rebuffering time as a percentage of watch time (Mux)"
    )
    rebuffer_frequency_per_minute: float | None = Field(
        default=None, description="Rebuffer events per minute of watch time (Mux)"
    )
    rebuffer_duration_ms: float | None = Field(default=None, description="Rebuffering per session, mean")
    rebuffer_count: int = 0
    playback_failure_percentage: float | None = None
    exits_before_video_start_percentage: float | None = None
    average_bitrate_kbps: float | None = Field(default=None, description="From CMCD br, segment requests")
    buffer_starvations: int = Field(default=0, description="CMCD bs flags seen")
    sessions: list[SessionQoeView] = Field(default_factory=list, description="Newest first")
