"""The sessions table's stream -> history entries and ``session.ended`` events.

A heartbeat writes its session and nothing else; this consumer follows the stream and

- keeps the (profile, video) history entry at the session's latest position (unless the profile
  paused its history when the session started): on every change of state, at the end, and every
  ``PROJECT_EVERY`` heartbeats in between; conditional on being newer, so a record seen twice or
  late never moves an entry back;
- emits ``session.ended`` once per session, when ``end_reason`` first appears (an ``ended`` or
  ``error`` heartbeat, the sweeper, a takedown), or when DynamoDB's TTL deletes a session that was
  never ended (the backstop: ``expired``).

Records of one session arrive in order (one stream shard per key); within a batch only the last
image of each session is projected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from functions.sessions.dal import sessions as store
from functions.sessions.logic import qoe
from functions.sessions.logic.sessions import RESUME_MAX_FRACTION, RESUME_MIN_FRACTION
from functions.shared.clock import now_iso
from functions.shared.events import put_event

SESSION_ENDED = "session.ended"


def entry_fields(session: Mapping[str, Any]) -> dict[str, Any]:
    """The history entry a session's image gives."""
    position = float(session.get("position_seconds") or 0)
    duration = session.get("duration_seconds")
    fraction = position / float(duration) if duration else None
    finished = session.get("end_reason") == "ended" or (
        fraction is not None and fraction >= RESUME_MAX_FRACTION
    )
    in_progress = (
        fraction is not None and RESUME_MIN_FRACTION <= fraction <= RESUME_MAX_FRACTION and not finished
    )
    viewer = str(session["viewer"])
    return {
        "video_id": session["video_id"],
        "session_id": session.get("session_id"),
        "video_title": session.get("video_title"),
        "titles": session.get("titles"),
        "position_seconds": position,
        "duration_seconds": duration,
        "percentage": round(min(fraction, 1.0) * 100, 1) if fraction is not None else None,
        "finished": finished,
        "watched_at": qoe.ms_iso(session.get("last_seen_ms")) or now_iso(),
        "history_viewer": viewer,
        "continue_viewer": viewer if in_progress else None,
    }


# While the state holds, every third heartbeat moves the entry (30 s of position at the default
# interval); a change of state (a pause, the first play) and the end always do, and the end is the
# sweeper's too, so a tab closed without a beacon still leaves its last position. Half the writes
# of projecting every heartbeat, which the embedded mode's single DynamoDB feels at 1,000 viewers.
PROJECT_EVERY = 3


def _worth_projecting(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    if new.get("end_reason") or old.get("state") != new.get("state"):
        return True
    return int(new.get("seq") or 0) % PROJECT_EVERY == 0


def _is_session(image: Mapping[str, Any]) -> bool:
    return image.get("sk") == "session"


def record(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Apply one batch of stream records; returns what it did (for metrics)."""
    latest: dict[str, dict[str, Any]] = {}
    ended = 0
    for rec in records:
        change = rec.get("dynamodb") or {}
        old = store.plain_item(change.get("OldImage"))
        new = store.plain_item(change.get("NewImage"))
        name = rec.get("eventName")
        if name == "REMOVE":
            if _is_session(old) and not old.get("end_reason"):  # TTL deleted a session never ended
                put_event(SESSION_ENDED, qoe.ended_detail(old, end_reason="expired", ended_at=now_iso()))
                ended += 1
            continue
        if not _is_session(new):
            continue
        if name != "MODIFY":  # a new session; or a restored one (the embedded mode's restart)
            continue
        # A session ends by an update of the open item, never by a put: an INSERT that already
        # has an end_reason is a restored snapshot, whose end was announced when it happened.
        if new.get("end_reason") and not old.get("end_reason"):
            put_event(SESSION_ENDED, qoe.ended_detail(new))
            ended += 1
        if new.get("record_history") and int(new.get("seq") or 0) > 0 and _worth_projecting(old, new):
            latest[str(new["pk"])] = new
    written = 0
    for session in latest.values():
        fields = entry_fields(session)
        if store.upsert_entry(
            str(session["viewer"]), str(session["video_id"]), fields, watched_ms=int(session["last_seen_ms"])
        ):
            written += 1
    return {"ended": ended, "entries": written}
