"""The sessions table's layout: the only place that knows it (PynamoDB).

One table, three kinds of item, each found by its key:

- a **session** (``pk`` = the session id, ``sk`` = ``"session"``): state, position, sequence, the
  token's hash, the QoE accumulators; while open it carries the sparse keys of the ``open-by-user``,
  ``open-by-video`` and ``open-by-shard`` indexes (stream limit, takedown, sweeper), removed when it
  ends; ``expires_ttl`` is the DynamoDB TTL backstop;
- a **history entry** (``pk`` = ``viewer#<sub>#<profile>``, ``sk`` = ``video#<id>``): the last
  position watched of one video by one profile, projected from the sessions' stream; the
  ``history`` index orders a profile's entries newest first, the sparse ``continue-watching`` index
  holds the ones between 5 % and 95 %;
- a profile's **settings** (same ``pk``, ``sk`` = ``"settings"``): ``history_paused``.

The table's stream (NEW_AND_OLD_IMAGES) feeds functions/sessions/handlers/handle_record.py.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

SESSION_SK = "session"
SETTINGS_SK = "settings"
VIDEO_SK_PREFIX = "video#"
VIEWER_PK_PREFIX = "viewer#"
TTL_ATTRIBUTE = "expires_ttl"


class OpenByUser(GlobalSecondaryIndex["SessionsTable"]):
    """An account's open sessions (the concurrent-stream limit)."""

    class Meta:
        index_name = "open-by-user"
        projection = AllProjection()

    open_user = UnicodeAttribute(hash_key=True)
    started_at = UnicodeAttribute(range_key=True)


class OpenByVideo(GlobalSecondaryIndex["SessionsTable"]):
    """A video's open sessions (a takedown ends them)."""

    class Meta:
        index_name = "open-by-video"
        projection = AllProjection()

    open_video = UnicodeAttribute(hash_key=True)
    started_at = UnicodeAttribute(range_key=True)


class OpenByShard(GlobalSecondaryIndex["SessionsTable"]):
    """Open sessions by when they fall silent, spread over a few shards (the sweeper)."""

    class Meta:
        index_name = "open-by-shard"
        projection = AllProjection()

    open_shard = UnicodeAttribute(hash_key=True)
    silent_at_ms = NumberAttribute(range_key=True)


class History(GlobalSecondaryIndex["SessionsTable"]):
    """A profile's history entries, newest first."""

    class Meta:
        index_name = "history"
        projection = AllProjection()

    history_viewer = UnicodeAttribute(hash_key=True)
    watched_at = UnicodeAttribute(range_key=True)


class ContinueWatching(GlobalSecondaryIndex["SessionsTable"]):
    """A profile's entries between 5 % and 95 % watched (sparse), newest first."""

    class Meta:
        index_name = "continue-watching"
        projection = AllProjection()

    continue_viewer = UnicodeAttribute(hash_key=True)
    watched_at = UnicodeAttribute(range_key=True)


class SessionsTable(Model):
    class Meta:
        table_name = "vod-sessions"  # replaced from settings at first use (dal.sessions)
        billing_mode = "PAY_PER_REQUEST"
        stream_view_type = "NEW_AND_OLD_IMAGES"
        ttl_attribute = TTL_ATTRIBUTE

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    # -- session items --------------------------------------------------------------------
    session_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    profile_id = UnicodeAttribute(null=True)
    viewer = UnicodeAttribute(null=True)  # user#profile: the history entry's key
    video_id = UnicodeAttribute(null=True)
    token_hash = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    position_seconds = NumberAttribute(null=True)
    duration_seconds = NumberAttribute(null=True)
    max_position = NumberAttribute(null=True)  # duration + slack: the heartbeat's bound
    seq = NumberAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    started_ms = NumberAttribute(null=True)
    last_seen_ms = NumberAttribute(null=True)
    silent_at_ms = NumberAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    end_reason = UnicodeAttribute(null=True)
    record_history = BooleanAttribute(null=True)
    video_title = UnicodeAttribute(null=True)  # what the history shows, fixed at playback
    titles = ListAttribute(of=MapAttribute, null=True)  # the titles (movie/episode) it is bound to
    open_user = UnicodeAttribute(null=True)
    open_video = UnicodeAttribute(null=True)
    open_shard = UnicodeAttribute(null=True)
    expires_ttl = NumberAttribute(null=True)
    last_seen_at = UnicodeAttribute(null=True)
    ended_ms = NumberAttribute(null=True)
    cmcd = MapAttribute[str, Any](null=True)  # the last heartbeat's CMCD keys, as sent
    first_playing_ms = NumberAttribute(null=True)
    startup_time_ms = NumberAttribute(null=True)  # player-reported
    error_code = UnicodeAttribute(null=True)
    # QoE accumulators, written by the heartbeat's one update (dal/sessions.py explains them)
    q_tsum = NumberAttribute(null=True)
    q_a_playing = NumberAttribute(null=True)
    q_a_buffering = NumberAttribute(null=True)
    q_o_playing = NumberAttribute(null=True)
    q_o_buffering = NumberAttribute(null=True)
    q_rb_inc = NumberAttribute(null=True)
    q_rb_count = NumberAttribute(null=True)
    q_played = NumberAttribute(null=True)
    q_prevbuf = NumberAttribute(null=True)
    q_fp_tsum = NumberAttribute(null=True)
    q_fp_abuf = NumberAttribute(null=True)
    q_fp_last = NumberAttribute(null=True)
    q_fp_prevbuf = NumberAttribute(null=True)

    # -- history entries ------------------------------------------------------------------
    history_viewer = UnicodeAttribute(null=True)
    continue_viewer = UnicodeAttribute(null=True)
    watched_at = UnicodeAttribute(null=True)
    watched_ms = NumberAttribute(null=True)
    percentage = NumberAttribute(null=True)
    finished = BooleanAttribute(null=True)

    # -- settings -------------------------------------------------------------------------
    history_paused = BooleanAttribute(null=True)

    open_by_user = OpenByUser()
    open_by_video = OpenByVideo()
    open_by_shard = OpenByShard()
    history = History()
    continue_watching = ContinueWatching()
