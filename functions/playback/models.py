"""The playback response: the signed URL (videos API's ``PlaybackResponse``) and the session the
playback opened (functions/sessions)."""

from __future__ import annotations

from pydantic import Field

from functions.videos.models import PlaybackResponse


class PlaybackSessionResponse(PlaybackResponse):
    session_id: str = Field(description="The playback session (also CMCD sid): ses_ + 22 url-safe characters")
    session_token: str = Field(
        description="This session's own credential for its heartbeats (Authorization: Bearer, or the "
        "body's token field); shown once"
    )
    resume_position_seconds: float = Field(
        description="Where the last session of this video (same user and profile) stopped; 0 when it "
        "ended or passed 95 %"
    )
    heartbeat_interval_seconds: int = Field(
        description="Send a heartbeat this often (and on every state change)"
    )
