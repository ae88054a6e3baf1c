"""Every table the platform deploys, by name, and its key schema as infra reads it.

The PynamoDB models are the one declaration of each table's keys and indexes; CDK
(infra/constructs/storage_construct.py) and the embedded mode (infra/local/provision.py) build
the tables from ``table_schema`` of these models, so a deployed table and its model cannot
drift. The map lives here, above the domains, because it names every domain's tables: a domain's
data access knows only its own.
"""

from __future__ import annotations

from typing import Any

from pynamodb.models import Model

from functions.catalog.dal.tables import CatalogItem, ViewItem
from functions.sessions.dal.tables import SessionsTable
from functions.shared.platform_tables import IdempotencyKeys, PlatformKeys
from functions.videos.dal.tables import VideoModel

TABLE_MODELS: dict[str, type[Model]] = {
    "videos": VideoModel,
    "platform": PlatformKeys,
    "idempotency": IdempotencyKeys,
    "catalog": CatalogItem,
    "catalog_views": ViewItem,
    "sessions": SessionsTable,
}


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
        # DynamoDB TTL (``Meta.ttl_attribute``): both CDK and the embedded mode turn it on.
        "ttl": getattr(model.Meta, "ttl_attribute", None),
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
