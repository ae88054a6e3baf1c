"""PynamoDB models: the only place that knows the videos table's layout.

Infra (CDK and the embedded emulator) reads the key schema from these classes (infra/tables.py)
so the deployed table and the model cannot drift.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class OwnerIndex(GlobalSecondaryIndex["VideoModel"]):
    class Meta:
        index_name = "by-owner"
        projection = AllProjection()

    owner_sub = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class StatusIndex(GlobalSecondaryIndex["VideoModel"]):
    class Meta:
        index_name = "by-status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class VideoModel(Model):
    class Meta:
        table_name = "vod-videos"  # replaced from settings at first use (dal.videos._bind)
        billing_mode = "PAY_PER_REQUEST"

    video_id = UnicodeAttribute(hash_key=True)
    owner_sub = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    upload_key = UnicodeAttribute()
    upload_version = UnicodeAttribute(null=True)
    # The video's one source, fixed at ingest (functions/videos/logic/ingest.py): the S3 version
    # of ``upload_key`` every step, retry and approval reads, and its ETag as S3 reported it.
    source_version_id = UnicodeAttribute(null=True)
    source_etag = UnicodeAttribute(null=True)
    # Later objects written to the key, which the starter refused to process: [{at, size, reason}]
    ignored_uploads = ListAttribute(of=MapAttribute, null=True)
    uploaded_at = UnicodeAttribute(null=True)
    execution_name = UnicodeAttribute(null=True)
    attempt = NumberAttribute(default=0)
    source = MapAttribute[str, Any](null=True)
    duration_seconds = NumberAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    renditions = ListAttribute(of=MapAttribute, null=True)
    poster_key = UnicodeAttribute(null=True)
    storyboard_key = UnicodeAttribute(null=True)
    progress = MapAttribute[str, Any](null=True)
    reasons = ListAttribute(of=MapAttribute, null=True)  # [{check, code, evidence}]
    review_token = UnicodeAttribute(null=True)  # the Saga's task token while IN_REVIEW (never shown)
    moderation_override = UnicodeAttribute(null=True)  # admin who approved past a rejection
    ready_at = UnicodeAttribute(null=True)
    # Chunked path (functions/pipeline/logic/chunked_steps.py): playable early, then complete.
    viewable_at = UnicodeAttribute(null=True)
    renditions_pending = ListAttribute(of=UnicodeAttribute, null=True)
    chunks_done_preview = NumberAttribute(null=True)  # atomic ADDs by the chunk encoders
    chunks_done_rest = NumberAttribute(null=True)
    progress_seq = NumberAttribute(null=True)  # orders concurrent progress writes of chunk workers
    priority_class = UnicodeAttribute(null=True)  # functions/videos/logic/priority.py; None: standard
    visibility = UnicodeAttribute(null=True)  # models.Visibility; None (older records): private
    # The takedown (functions/videos/logic/takedown.py): who, when, from which status; when the
    # video.deleted event went out (once), and when its media were purged.
    deleted_by = UnicodeAttribute(null=True)
    deleted_at = UnicodeAttribute(null=True)
    previous_status = UnicodeAttribute(null=True)
    deleted_announced_at = UnicodeAttribute(null=True)
    purged_at = UnicodeAttribute(null=True)

    owner_index = OwnerIndex()
    status_index = StatusIndex()
