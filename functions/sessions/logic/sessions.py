"""Playback sessions: start one (called by playback after its access decision), take heartbeats,
end silent ones (the sweeper) and a taken-down video's.

A heartbeat is one conditional UpdateItem (functions/sessions/dal/sessions.py ``heartbeat``) and
no read: the token's hash, the session being open and not silent, the rising sequence, the
position's bound and the allowed transition (states.py) are all its condition. When it fails,
the stored item DynamoDB hands back says which rule refused, and the heartbeat changed nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from functions.sessions.dal import sessions as store
from functions.sessions.logic import states, tokens
from functions.sessions.logic.qoe import ms_iso
from functions.sessions.models import ActiveSession, Heartbeat, HeartbeatAccepted, SessionState
from functions.shared.clock import now_iso
from functions.shared.errors import Conflict, DomainError, Gone, NotFound, TooManyRequests, Unauthorized
from functions.shared.settings import get_settings

# A resume point this close to the start or the end is no resume point.
RESUME_MIN_FRACTION = 0.05
RESUME_MAX_FRACTION = 0.95
# Past the silence, the TTL backstop deletes a session the sweeper missed (an hour later).
TTL_BACKSTOP_SECONDS = 3600
UNBOUNDED_POSITION = 7 * 86400  # a video whose duration is unknown


class InvalidHeartbeat(DomainError):
    status = 400
    code = "invalid_heartbeat"


def viewer_key(user_id: str, profile_id: str | None) -> str:
    """History and resume are per user and profile (no profile: the account itself, ``-``)."""
    return f"{user_id}#{profile_id or '-'}"


@dataclass(frozen=True)
class StartedSession:
    session_id: str
    session_token: str
    resume_position_seconds: float
    heartbeat_interval_seconds: int


def _now_ms() -> int:
    return int(time.time() * 1000)


def resume_position(entry: Mapping[str, Any] | None) -> float:
    """Where the last session of this video stopped; 0 when it ended or passed 95 %."""
    if not entry or entry.get("finished"):
        return 0.0
    position = float(entry.get("position_seconds") or 0)
    duration = entry.get("duration_seconds")
    if duration and position >= RESUME_MAX_FRACTION * float(duration):
        return 0.0
    return position


def _active(item: Mapping[str, Any]) -> ActiveSession:
    return ActiveSession(
        session_id=str(item["session_id"]),
        video_id=str(item["video_id"]),
        profile_id=item.get("profile_id"),
        started_at=str(item["started_at"]),
        last_heartbeat_at=item.get("last_seen_at"),
        state=str(item.get("state")),
    )


def active_sessions(user_id: str, now_ms: int | None = None) -> list[ActiveSession]:
    """The account's sessions that are open and not yet silent, oldest first."""
    now_ms = _now_ms() if now_ms is None else now_ms
    items = [i for i in store.open_sessions_of_user(user_id) if int(i.get("silent_at_ms") or 0) > now_ms]
    return [_active(i) for i in sorted(items, key=lambda i: str(i["started_at"]))]


def start(
    *,
    user_id: str,
    profile_id: str | None,
    video_id: str,
    duration_seconds: float | None,
    video_title: str | None = None,
    titles: Sequence[Mapping[str, Any]] = (),
) -> StartedSession:
    """A new session for a playback the access decision allowed. 429 ``too_many_streams`` when
    the account already has ``max_concurrent_streams`` active sessions (listed in the error)."""
    settings = get_settings()
    now_ms = _now_ms()
    active = active_sessions(user_id, now_ms)
    if len(active) >= settings.max_concurrent_streams:
        raise TooManyRequests(
            f"this account already plays {len(active)} streams (at most {settings.max_concurrent_streams})",
            code="too_many_streams",
            retry_after_s=settings.heartbeat_interval_seconds,
            details={"active_sessions": [a.model_dump(mode="json") for a in active]},
        )
    viewer = viewer_key(user_id, profile_id)
    entry, profile_settings = store.entry_and_settings(viewer, video_id)
    resume = resume_position(entry)
    session_id, token = tokens.new_session_id(), tokens.new_token()
    silence_ms = settings.session_silence_seconds * 1000
    max_position = (
        float(duration_seconds) + settings.session_position_slack_seconds
        if duration_seconds
        else float(UNBOUNDED_POSITION)
    )
    started_at = now_iso()
    store.create_session(
        {
            "pk": session_id,
            "sk": "session",
            "session_id": session_id,
            "user_id": user_id,
            "profile_id": profile_id,
            "viewer": viewer,
            "video_id": video_id,
            "video_title": video_title,
            "titles": [dict(t) for t in titles] or None,
            "token_hash": tokens.token_hash(token),
            "state": SessionState.IDLE.value,
            "position_seconds": resume,
            "duration_seconds": float(duration_seconds) if duration_seconds else None,
            "max_position": max_position,
            "seq": 0,
            "started_at": started_at,
            "started_ms": now_ms,
            "last_seen_ms": now_ms,
            "last_seen_at": started_at,
            "silent_at_ms": now_ms + silence_ms,
            "record_history": not bool((profile_settings or {}).get("history_paused")),
            "open_user": user_id,
            "open_video": video_id,
            "open_shard": store.shard_of(session_id),
            "expires_ttl": (now_ms + silence_ms) // 1000 + TTL_BACKSTOP_SECONDS,
            # QoE accumulators (dal/sessions.py)
            "q_tsum": 0,
            "q_a_playing": 0,
            "q_a_buffering": 0,
            "q_rb_inc": 0,
            "q_rb_count": 0,
            "q_prevbuf": 0,
        }
    )
    return StartedSession(session_id, token, resume, settings.heartbeat_interval_seconds)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def heartbeat(session_id: str, beat: Heartbeat, *, header_token: str | None) -> HeartbeatAccepted:
    """Record one heartbeat: one conditional write, or a refusal that changed nothing."""
    token = beat.token or header_token
    if not token:
        raise Unauthorized("the session token is required (Authorization: Bearer, or a token field)")
    if not tokens.SESSION_ID_RE.match(session_id):
        raise NotFound(f"session {session_id} not found", code="session_not_found")
    settings = get_settings()
    now_ms = _now_ms()
    hashed = tokens.token_hash(token)
    write = store.HeartbeatWrite(
        session_id=session_id,
        token_hash=hashed,
        state=beat.state,
        allowed_from=states.allowed_from(beat.state),
        position_seconds=beat.position_seconds,
        sequence=beat.sequence,
        now_ms=now_ms,
        now_iso=now_iso(),
        silent_at_ms=now_ms + settings.session_silence_seconds * 1000,
        expires_ttl=now_ms // 1000 + settings.session_silence_seconds + TTL_BACKSTOP_SECONDS,
        startup_time_ms=beat.startup_time_ms,
        error_code=beat.error.code if beat.error else None,
        cmcd=beat.cmcd,
    )
    try:
        updated = store.heartbeat(write)
    except store.HeartbeatRefused as refused:
        raise _refusal(refused.stored, beat, hashed, session_id, now_ms) from None
    return HeartbeatAccepted(
        session_id=session_id,
        state=beat.state,
        position_seconds=beat.position_seconds,
        sequence=int(updated.get("seq", beat.sequence or 0)),
        heartbeat_interval_seconds=settings.heartbeat_interval_seconds,
    )


def _refusal(
    stored: Mapping[str, Any], beat: Heartbeat, hashed: str, session_id: str, now_ms: int
) -> DomainError:
    """Why the condition failed, most telling first. Another user's session and a wrong token
    look like no session at all (404): a token is the only way to learn that a session exists."""
    if not stored or not tokens.same_hash(str(stored.get("token_hash")), hashed):
        return NotFound(f"session {session_id} not found", code="session_not_found")
    reason = stored.get("end_reason")
    if reason == "expired" or (not reason and int(stored.get("silent_at_ms") or 0) <= now_ms):
        return Gone(f"session {session_id} expired after silence", code="session_expired")
    if reason:
        return Gone(f"session {session_id} has ended ({reason})", code="session_ended")
    if beat.position_seconds > float(stored.get("max_position") or 0):
        return InvalidHeartbeat(
            f"position {beat.position_seconds} is past the video's end ({stored.get('duration_seconds')} s)",
            code="position_out_of_range",
        )
    if beat.sequence is not None and int(stored.get("seq") or 0) >= beat.sequence:
        return Conflict(
            f"heartbeat {beat.sequence} is not newer than {stored.get('seq')}: late, ignored",
            code="stale_heartbeat",
        )
    current = SessionState(str(stored.get("state")))
    if not states.allowed(current, beat.state):
        return Conflict(f"a session cannot go from {current} to {beat.state}", code="invalid_transition")
    # The item changed between the write and its refusal (two heartbeats at once): a retry decides.
    return Conflict("the session changed meanwhile; send the next heartbeat", code="stale_heartbeat")


def sweep(now_ms: int | None = None) -> int:
    """End every open session silent past its deadline (``expired``); returns how many."""
    now_ms = _now_ms() if now_ms is None else now_ms
    ended = 0
    for item in store.silent_sessions(now_ms):
        if store.end_session(
            str(item["pk"]),
            reason="expired",
            now_ms=now_ms,
            now_iso=ms_iso(now_ms) or now_iso(),
            only_silent_before=now_ms,
        ):
            ended += 1
    return ended


def end_video_sessions(video_id: str) -> int:
    """A taken-down video's open sessions end (``taken_down``); returns how many."""
    now_ms = _now_ms()
    ended = 0
    for item in store.open_sessions_of_video(video_id):
        if store.end_session(
            str(item["pk"]), reason="taken_down", now_ms=now_ms, now_iso=now_iso(), only_silent_before=None
        ):
            ended += 1
    return ended
