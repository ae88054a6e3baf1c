"""``GET /v1/videos/{id}/qoe``: Mux's metrics over the last N sessions of a video that ended."""

from __future__ import annotations

from functions.qoe.dal import sessions as dal
from functions.qoe.dal.tables import QoeSessionItem
from functions.qoe.logic.metrics import ViewQoe, mux_watch_time_ms, rebuffer_percentage, summarise
from functions.qoe.models import QoeSummary, SessionQoeView
from functions.shared.errors import DomainError
from functions.shared.settings import get_settings


class InvalidLimit(DomainError):
    status = 400
    code = "invalid_limit"


def parse_limit(raw: str | None) -> int:
    """``limit`` from the query: a whole number of sessions in 1..QOE_SUMMARY_MAX_SESSIONS."""
    settings = get_settings()
    if raw is None:
        return settings.qoe_summary_default_sessions
    high = settings.qoe_summary_max_sessions
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= high:
        raise InvalidLimit(f"limit must be a whole number from 1 to {high}")
    return int(raw)


def _int(value: float | None) -> int:
    return int(value) if value is not None else 0


def view_of(item: QoeSessionItem) -> ViewQoe:
    return ViewQoe(
        startup_time_ms=int(item.startup_time_ms) if item.startup_time_ms is not None else None,
        watch_time_ms=_int(item.watch_time_ms),
        rebuffer_count=_int(item.rebuffer_count),
        rebuffer_duration_ms=_int(item.rebuffer_duration_ms),
        errored=bool(item.errored),
        exited_before_start=bool(item.exited_before_start),
    )


def session_view(item: QoeSessionItem) -> SessionQoeView:
    view = view_of(item)
    samples = _int(item.cmcd_bitrate_samples)
    return SessionQoeView(
        session_id=item.session_id,
        started_at=item.started_at,
        ended_at=item.ended_at,
        end_reason=item.end_reason,
        startup_time_ms=view.startup_time_ms,
        watch_time_ms=view.watch_time_ms,
        rebuffer_count=view.rebuffer_count,
        rebuffer_duration_ms=view.rebuffer_duration_ms,
        rebuffer_percentage=rebuffer_percentage(view.rebuffer_duration_ms, mux_watch_time_ms(view)),
        errored=view.errored,
        error_code=item.error_code,
        exited_before_start=view.exited_before_start,
        cmcd_requests=_int(item.cmcd_requests),
        average_bitrate_kbps=(_int(item.cmcd_bitrate_sum_kbps) / samples) if samples else None,
        bitrates_kbps=sorted(int(b) for b in (item.cmcd_bitrates_kbps or ())),
        top_bitrate_kbps=int(item.cmcd_top_bitrate_kbps) if item.cmcd_top_bitrate_kbps is not None else None,
        buffer_starvations=_int(item.cmcd_starvations),
    )


def summarise_video(video_id: str, limit: int) -> QoeSummary:
    """The summary of the video's last ``limit`` ended sessions (one Query). The caller has
    already been authorised (the route: owner or admin)."""
    items = dal.latest_for_video(video_id, limit)
    totals = summarise(view_of(item) for item in items)
    samples = sum(_int(i.cmcd_bitrate_samples) for i in items)
    return QoeSummary(
        video_id=video_id,
        count=totals.views,
        startup_time_p50_ms=totals.startup_time_p50_ms,
        startup_time_p95_ms=totals.startup_time_p95_ms,
        startup_time_p99_ms=totals.startup_time_p99_ms,
        rebuffer_percentage=totals.rebuffer_percentage,
        rebuffer_frequency_per_minute=totals.rebuffer_frequency_per_minute,
        rebuffer_duration_ms=totals.rebuffer_duration_ms,
        rebuffer_count=totals.rebuffer_count,
        playback_failure_percentage=totals.playback_failure_percentage,
        exits_before_video_start_percentage=totals.exits_before_video_start_percentage,
        average_bitrate_kbps=(sum(_int(i.cmcd_bitrate_sum_kbps) for i in items) / samples)
        if samples
        else None,
        buffer_starvations=sum(_int(i.cmcd_starvations) for i in items),
        sessions=[session_view(item) for item in items],
    )
