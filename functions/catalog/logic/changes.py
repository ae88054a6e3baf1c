"""Catalog table stream records -> ``vod.catalog`` domain events (pure functions).

Only title items make events (every change to seasons and episodes bumps the title item too).
The detail carries the title's new snapshot, so consumers need not read the write model:

``{"title_id", "version", "state", "previous_state", "event_id", "title": {...snapshot}}``

A deletion's version is the deleted version + 1, so that it supersedes every earlier event.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from functions.catalog.dal.tables import TITLE_SK
from functions.catalog.logic.render import SNAPSHOT_FIELDS
from functions.catalog.models import (
    TITLE_CREATED,
    TITLE_DELETED,
    TITLE_PUBLISHED,
    TITLE_UNPUBLISHED,
    TITLE_UPDATED,
    PublicationState,
)

_DESERIALIZER = TypeDeserializer()
PUBLISHED = PublicationState.PUBLISHED.value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def _image(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    item = {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in raw.items()}
    return {name: item.get(name) for name in SNAPSHOT_FIELDS}


def detail_type(event_name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    if event_name == "INSERT" or old is None:
        return TITLE_CREATED
    if event_name == "REMOVE" or new is None:
        return TITLE_DELETED
    if new.get("state") == PUBLISHED and old.get("state") != PUBLISHED:
        return TITLE_PUBLISHED
    if old.get("state") == PUBLISHED and new.get("state") != PUBLISHED:
        return TITLE_UNPUBLISHED
    return TITLE_UPDATED


def event_for(record: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(detail type, detail) for a stream record of a title item; None for any other item."""
    data = record.get("dynamodb") or {}
    keys = data.get("Keys") or {}
    if (keys.get("sk") or {}).get("S") != TITLE_SK:
        return None
    old, new = _image(data.get("OldImage")), _image(data.get("NewImage"))
    kind = detail_type(record.get("eventName", ""), old, new)
    current = new if new is not None else old
    if current is None:
        return None
    version = int(current["version"]) + (1 if kind == TITLE_DELETED else 0)
    detail = {
        "title_id": current["title_id"],
        "version": version,
        "state": None if kind == TITLE_DELETED else current.get("state"),
        "previous_state": old.get("state") if old else None,
        "event_id": record.get("eventID"),
        "title": current,
    }
    return kind, detail
