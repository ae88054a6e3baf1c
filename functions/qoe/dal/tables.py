"""The QoE table: one item per playback session (``session_id``, the CMCD ``sid``).

An item is made by whichever comes first: the CMCD the player sent on its requests (counters added
by the collector, ``logic/collect.py``) or the session's end (``session.ended``: the per-session
QoE, ``logic/sessions.py``). Index ``by-video`` (``video_id`` / ``ended_at``) is sparse: a session
is listed under its video once it has ended, newest last, so "the last N sessions of a video" is
one Query. Items expire (``expires_at``, DynamoDB TTL) after the configured retention.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class VideoIndex(GlobalSecondaryIndex["QoeSessionItem"]):
    class Meta:
        index_name = "by-video"
        projection = AllProjection()

    video_id = UnicodeAttribute(hash_key=True)
    ended_at = UnicodeAttribute(range_key=True)


class QoeSessionItem(Model):
    class Meta:
        table_name = "vod-qoe"  # bound to the settings' qoe_table (dal/sessions.py)
        ttl_attribute = "expires_at"

    session_id = UnicodeAttribute(hash_key=True)
    video_id = UnicodeAttribute(null=True)
    by_video = VideoIndex()
    expires_at = NumberAttribute(null=True)  # epoch seconds (TTL)

    # From session.ended
    user_id = UnicodeAttribute(null=True)
    profile_id = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    end_reason = UnicodeAttribute(null=True)
    final_state = UnicodeAttribute(null=True)
    position_seconds = NumberAttribute(null=True)
    duration_seconds = NumberAttribute(null=True)
    startup_time_ms = NumberAttribute(null=True)
    watch_time_ms = NumberAttribute(null=True)
    rebuffer_count = NumberAttribute(null=True)
    rebuffer_duration_ms = NumberAttribute(null=True)
    errored = BooleanAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    exited_before_start = BooleanAttribute(null=True)

    # From CMCD (the collector's counters)
    cmcd_requests = NumberAttribute(null=True)
    cmcd_media_requests = NumberAttribute(null=True)
    cmcd_bitrate_sum_kbps = NumberAttribute(null=True)
    cmcd_bitrate_samples = NumberAttribute(null=True)
    cmcd_bitrates_kbps = NumberSetAttribute(null=True)  # the renditions played (distinct br)
    cmcd_top_bitrate_kbps = NumberAttribute(null=True)
    cmcd_last_bitrate_kbps = NumberAttribute(null=True)
    cmcd_last_buffer_ms = NumberAttribute(null=True)
    cmcd_last_throughput_kbps = NumberAttribute(null=True)
    cmcd_starvations = NumberAttribute(null=True)  # requests with bs (buffer starvation)
    cmcd_startup_requests = NumberAttribute(null=True)  # requests with su
    cmcd_errors = NumberAttribute(null=True)  # requests answered >= 400
    cmcd_first_at = UnicodeAttribute(null=True)
    cmcd_last_at = UnicodeAttribute(null=True)
    cmcd_stream_type = UnicodeAttribute(null=True)
    cmcd_streaming_format = UnicodeAttribute(null=True)
