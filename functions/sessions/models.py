"""The sessions API's request and response models (the heartbeat body is the contract of
issue #13: state, position_seconds, sequence, token, startup_time_ms, error, cmcd)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from functions.shared.schema import ApiModel


class SessionState(StrEnum):
    """A playback session's states; the transitions are functions/sessions/logic/states.py."""

    IDLE = "idle"
    PLAYING = "playing"
    PAUSED = "paused"
    BUFFERING = "buffering"
    ENDED = "ended"
    ERROR = "error"


# CMCD (CTA-5004) is a flat map of short keys to scalars; a player sends a dozen. Bound it so a
# heartbeat stays small whatever a client puts there.
CMCD_MAX_KEYS = 32
CMCD_MAX_STRING = 256
SESSION_ID_PATTERN = r"^ses_[A-Za-z0-9_-]{22,64}$"


class HeartbeatError(ApiModel):
    model_config = ConfigDict(extra="ignore")

    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    message: Annotated[str, StringConstraints(max_length=500)] = ""


class Heartbeat(ApiModel):
    """What a player sends every ``heartbeat_interval_seconds`` and on every state change."""

    model_config = ConfigDict(extra="forbid")

    state: SessionState
    position_seconds: float = Field(ge=0, le=7 * 86400, allow_inf_nan=False)
    sequence: int | None = Field(
        default=None, ge=0, le=2**53, description="Rising per heartbeat; absent: the server counts"
    )
    token: str | None = Field(
        default=None, max_length=200, description="The session token, for beacons that cannot set headers"
    )
    startup_time_ms: int | None = Field(default=None, ge=0, le=3_600_000)
    error: HeartbeatError | None = None
    cmcd: dict[str, str | int | float | bool] | None = Field(default=None, description="CTA-5004 keys")

    @field_validator("cmcd")
    @classmethod
    def _bounded_cmcd(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if len(value) > CMCD_MAX_KEYS:
            raise ValueError(f"at most {CMCD_MAX_KEYS} CMCD keys")
        for key, item in value.items():
            if len(key) > 16 or (isinstance(item, str) and len(item) > CMCD_MAX_STRING):
                raise ValueError("CMCD keys are short and their values at most 256 characters")
        return value


class HeartbeatAccepted(ApiModel):
    session_id: str
    state: SessionState
    position_seconds: float
    sequence: int
    heartbeat_interval_seconds: int


class ActiveSession(ApiModel):
    session_id: str
    video_id: str
    profile_id: str | None = None
    started_at: str
    last_heartbeat_at: str | None = None
    state: str


class TitleRef(ApiModel):
    title_id: str
    name: str
    kind: str
    season: int | None = None
    episode: int | None = None


class HistoryEntry(ApiModel):
    video_id: str
    video_title: str | None = None
    position_seconds: float
    duration_seconds: float | None = None
    percentage: float | None = Field(default=None, description="0..100 of the duration watched")
    watched_at: str
    finished: bool = False
    title: TitleRef | None = Field(default=None, description="The title (movie or episode) it is bound to")


class HistoryPage(ApiModel):
    items: list[HistoryEntry]
    next_cursor: str | None = None


class ViewerSettings(ApiModel):
    history_paused: bool = False


class ViewerSettingsPatch(ApiModel):
    model_config = ConfigDict(extra="forbid")

    history_paused: bool | None = None
