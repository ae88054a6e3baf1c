"""Domain events on the platform's EventBridge bus."""

from __future__ import annotations

import json
from typing import Any

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
