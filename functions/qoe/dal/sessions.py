"""Reads and writes of the QoE table (PynamoDB, this domain's only data access)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import UpdateError

from functions.qoe.dal.tables import QoeSessionItem
from functions.qoe.models import SessionCmcd
from functions.shared.table_binding import TableBinding

_BINDING = TableBinding(QoeSessionItem, table=lambda settings: settings.qoe_table)
T = QoeSessionItem


def add_cmcd(session: SessionCmcd, *, expires_at: int) -> None:
    """Add one batch's counters to the session's item (one UpdateItem; creates the item)."""
    _BINDING.bind()
    actions: list[Any] = [
        T.cmcd_requests.add(session.requests),
        T.cmcd_media_requests.add(session.media_requests),
        T.cmcd_bitrate_sum_kbps.add(session.bitrate_sum_kbps),
        T.cmcd_bitrate_samples.add(session.bitrate_samples),
        T.cmcd_starvations.add(session.starvations),
        T.cmcd_startup_requests.add(session.startup_requests),
        T.cmcd_errors.add(session.errors),
        T.expires_at.set(T.expires_at | expires_at),
    ]
    if session.bitrates_kbps:
        actions.append(T.cmcd_bitrates_kbps.add(set(session.bitrates_kbps)))
    if session.video_id:  # the session's end names the video authoritatively; CMCD cid until then
        actions.append(T.video_id.set(T.video_id | session.video_id))
    if session.first_at:
        actions.append(T.cmcd_first_at.set(T.cmcd_first_at | session.first_at))
    optional: list[tuple[Any, Any]] = [
        (T.cmcd_top_bitrate_kbps, session.top_bitrate_kbps),
        (T.cmcd_last_bitrate_kbps, session.last_bitrate_kbps),
        (T.cmcd_last_buffer_ms, session.last_buffer_ms),
        (T.cmcd_last_throughput_kbps, session.last_throughput_kbps),
        (T.cmcd_last_at, session.last_at),
        (T.cmcd_stream_type, session.stream_type),
        (T.cmcd_streaming_format, session.streaming_format),
    ]
    actions.extend(attr.set(value) for attr, value in optional if value is not None)
    QoeSessionItem(session.session_id).update(actions=actions)


def record_end(session_id: str, values: Mapping[str, Any], *, expires_at: int) -> bool:
    """Write a session's end once: False when it was already written (a redelivered event)."""
    _BINDING.bind()
    attributes = QoeSessionItem.get_attributes()
    actions: list[Any] = [attributes[name].set(value) for name, value in values.items() if value is not None]
    actions.append(T.expires_at.set(expires_at))
    try:
        QoeSessionItem(session_id).update(actions=actions, condition=T.ended_at.does_not_exist())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def latest_for_video(video_id: str, limit: int) -> list[QoeSessionItem]:
    """The last ``limit`` sessions of a video that ended, newest first (one Query on by-video)."""
    _BINDING.bind()
    return list(QoeSessionItem.by_video.query(video_id, scan_index_forward=False, limit=limit))


def get(session_id: str) -> QoeSessionItem | None:
    _BINDING.bind()
    try:
        return QoeSessionItem.get(session_id, consistent_read=True)
    except QoeSessionItem.DoesNotExist:
        return None
