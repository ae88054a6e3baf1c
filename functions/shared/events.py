"""Domain events on the platform's EventBridge bus."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.aws import client
from functions.shared.errors import TransientError
from functions.shared.settings import get_settings

SOURCE = "vod.videos"


def put_event(detail_type: str, detail: dict[str, Any]) -> None:
    response = client("events").put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": get_settings().event_bus_name,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise TransientError(f"EventBridge refused {detail_type}: {response['Entries']}")


def put_video_event(detail_type: str, *, video_id: str, owner: str | None, **detail: Any) -> None:
    """A ``video.*`` event. Each carries the video's id and its ``owner`` (owner_sub), so that
    consumers (the webhook dispatcher routes by owner) need not read the videos table."""
    put_event(detail_type, {"video_id": video_id, "owner": owner, **detail})


VIDEO_DELETED = "video.deleted"  # detail: VideoDeletedDetail


class VideoDeletedDetail(BaseModel):
    """The ``video.deleted`` event's detail (the takedown, functions/videos/logic/takedown.py): the
    contract its consumers (the takedown worker, the catalog, the sessions) parse."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    video_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    owner: str | None
    deleted_by: str
    deleted_at: str  # ISO-8601 UTC, the platform's format (functions/shared/clock.py)
    previous_status: str


def video_deleted_from_sqs_body(body: str) -> VideoDeletedDetail:
    """The detail of a ``video.deleted`` event as a bus rule's SQS target delivers it (the whole
    EventBridge event, JSON, as the message body)."""
    event = json.loads(body)
    if event.get("detail-type") != VIDEO_DELETED:
        raise ValueError(f"not a {VIDEO_DELETED} event: {event.get('detail-type')!r}")
    return VideoDeletedDetail.model_validate(event["detail"])
