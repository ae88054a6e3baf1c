"""S3 event notifications as an SQS queue delivers them: the one place that unwraps them.

A bucket notification reaches its queue as an SQS message whose body is the S3 event (JSON,
``Records``). S3 also sends one ``s3:TestEvent`` message when a notification configuration is
saved: it names no object and is skipped. Keys arrive URL-encoded (``+`` for a space).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class CreatedObject:
    bucket: str
    key: str  # decoded
    size: int | None  # None when the notification does not say
    sequencer: str | None  # S3's ordering token of the object's events (None when absent)
    etag: str | None
    version_id: str | None


def created_objects(body: str) -> Iterator[CreatedObject]:
    """The ObjectCreated records of one SQS message's body; nothing for a test event or others."""
    message: dict[str, Any] = json.loads(body)
    if message.get("Event") == "s3:TestEvent":
        return  # S3 sends one when the notification configuration is saved
    for record in message.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        obj = record["s3"]["object"]
        yield CreatedObject(
            bucket=record["s3"]["bucket"]["name"],
            key=unquote_plus(obj["key"]),
            size=int(obj["size"]) if "size" in obj else None,
            sequencer=obj.get("sequencer") or None,
            etag=obj.get("eTag") or None,
            version_id=obj.get("versionId") or None,
        )
