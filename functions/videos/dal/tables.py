"""PynamoDB models: the only place that knows the table layout.

Infra (CDK and the embedded emulator) reads the key schema from these classes through
``table_schema`` so the deployed table and the model cannot drift.
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

    owner_index = OwnerIndex()
    status_index = StatusIndex()


def _table_models() -> dict[str, type[Model]]:
    from functions.catalog.dal.tables import CatalogItem, ViewItem
    from functions.shared.platform_tables import IdempotencyKeys, PlatformKeys

    return {
        "videos": VideoModel,
        "platform": PlatformKeys,
        "idempotency": IdempotencyKeys,
        "catalog": CatalogItem,
        "catalog_views": ViewItem,
    }


TABLE_MODELS: dict[str, type[Model]] = _table_models()


def table_schema(model: type[Model]) -> dict[str, Any]:
    """Key schema and indexes of a PynamoDB model in a neutral shape for CDK and the emulator."""
    attrs = model.get_attributes()

    def _type(name: str) -> str:
        return {"S": "S", "N": "N", "B": "B"}[attrs[name].attr_type]

    hash_key = model._hash_keyname
    range_key = model._range_keyname
    assert hash_key is not None, f"{model.__name__} has no hash key"
    indexes = []
    for index in model._indexes.values():
        idx_hash = idx_range = None
        for name, attr in index.Meta.attributes.items():
            if attr.is_hash_key:
                idx_hash = name
            if attr.is_range_key:
                idx_range = name
        assert idx_hash is not None
        indexes.append({"name": index.Meta.index_name, "hash_key": idx_hash, "range_key": idx_range})
    return {
        # A table stream (``Meta.stream_view_type``), e.g. the catalog's, which feeds its projections.
        "stream": getattr(model.Meta, "stream_view_type", None),
        "hash_key": (hash_key, _type(hash_key)),
        "range_key": (range_key, _type(range_key)) if range_key else None,
        "indexes": [
            {
                "name": i["name"],
                "hash_key": (i["hash_key"], _type(i["hash_key"])),
                "range_key": (i["range_key"], _type(i["range_key"])) if i["range_key"] else None,
            }
            for i in indexes
        ],
    }
