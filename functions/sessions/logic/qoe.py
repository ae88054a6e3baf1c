"""A session's quality-of-experience summary, from the accumulators the heartbeats kept.

Mux Data's definitions: video startup time (player-reported when given, else the first
``playing`` heartbeat minus the session's start), watch time (time in ``playing``), rebuffering
(time in ``buffering`` after the first play; each entry into it after the first play is one
rebuffer), playback failure (the session ended in ``error``), exit before video start (it ended
without ever playing, and not by an error). How the accumulators work: functions/sessions/dal/sessions.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.shared.clock import iso


def _num(item: dict[str, Any], name: str) -> float:
    value = item.get(name)
    return float(value) if isinstance(value, int | float) else 0.0


def ms_iso(ms: float | None) -> str | None:
    return None if ms is None else iso(datetime.fromtimestamp(float(ms) / 1000, UTC))


def time_in(item: dict[str, Any], state: str) -> int:
    """Milliseconds spent in ``state`` (playing or buffering) over the heartbeats received."""
    return max(0, int(_num(item, "q_tsum") - _num(item, f"q_a_{state}")))


def summary(item: dict[str, Any]) -> dict[str, Any]:
    first_ms = item.get("first_playing_ms")
    started_ms = item.get("started_ms")
    startup = item.get("startup_time_ms")
    if startup is None and first_ms is not None and started_ms is not None:
        startup = max(0, int(first_ms) - int(started_ms))
    buffering = time_in(item, "buffering")
    startup_buffering = 0.0
    if "q_fp_tsum" in item:
        startup_buffering = _num(item, "q_fp_tsum") - _num(item, "q_fp_abuf")
        if _num(item, "q_fp_prevbuf") and first_ms is not None:
            startup_buffering += float(first_ms) - _num(item, "q_fp_last")
    rebuffer_ms = max(0, int(buffering - startup_buffering)) if first_ms is not None else 0
    errored = item.get("end_reason") == "error" or item.get("state") == "error"
    return {
        "first_playing_at": ms_iso(first_ms),
        "startup_time_ms": int(startup) if startup is not None else None,
        "watch_time_ms": time_in(item, "playing"),
        "rebuffer_count": int(_num(item, "q_rb_count")),
        "rebuffer_duration_ms": rebuffer_ms,
        "errored": errored,
        "error_code": item.get("error_code") if errored or item.get("error_code") else None,
        "exited_before_start": first_ms is None and not errored,
    }


def ended_detail(
    item: dict[str, Any], *, end_reason: str | None = None, ended_at: str | None = None
) -> dict[str, Any]:
    """The ``session.ended`` event's detail (the contract of issue #13)."""
    return {
        "session_id": item.get("session_id") or item.get("pk"),
        "video_id": item.get("video_id"),
        "user_id": item.get("user_id"),
        "profile_id": item.get("profile_id"),
        "started_at": item.get("started_at"),
        "ended_at": ended_at or item.get("ended_at"),
        "end_reason": end_reason or item.get("end_reason"),
        "final_state": item.get("state"),
        "position_seconds": item.get("position_seconds"),
        "duration_seconds": item.get("duration_seconds"),
        "qoe": summary(item),
    }
