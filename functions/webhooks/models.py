"""Webhook API shapes and the event types a subscriber can choose."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from functions.shared.schema import ApiModel

WEBHOOK_ID_RE = re.compile(r"^[0-9a-f]{32}$")
MAX_URL_LENGTH = 2048


class EventType(StrEnum):
    """The domain events delivered to webhooks: one per terminal state of a video (the webhook-events
    bus rule, infra/spec/webhooks.py, selects exactly these)."""

    VIDEO_READY = "video.ready"
    VIDEO_REJECTED = "video.rejected"
    VIDEO_FAILED = "video.failed"
    VIDEO_DELETED = "video.deleted"  # taken down by its owner or an admin


ALL_EVENT_TYPES: tuple[EventType, ...] = tuple(EventType)


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


class DomainEvent(ApiModel):
    """The parts of an EventBridge event (as a rule's SQS target delivers it) that webhooks use.

    Not Powertools' ``EventBridgeModel``: that one also requires ``account``, ``region`` and
    ``resources``, which moto's EventBridge -> SQS delivery leaves out.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str = Field(min_length=1)
    source: str
    detail_type: str = Field(alias="detail-type")
    time: datetime
    detail: dict[str, Any]


class CreateWebhookRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="Where events are POSTed: https, a public host",
    )
    events: list[EventType] | None = Field(
        default=None,
        min_length=1,
        max_length=len(ALL_EVENT_TYPES),
        description="Event types to receive; all of them when omitted",
    )

    @field_validator("events")
    @classmethod
    def _unique(cls, events: list[EventType] | None) -> list[EventType] | None:
        if events is not None and len(set(events)) != len(events):
            raise ValueError("each event type may appear once")
        return events


class WebhookView(ApiModel):
    """A subscription as its owner sees it: never the secret."""

    id: str
    url: str
    events: list[EventType]
    scope: str = Field(description="'own': events of the owner's videos; 'all': every video (admins)")
    active: bool
    created_at: str


class CreateWebhookResponse(WebhookView):
    secret: str = Field(description="Signing secret (whsec_...): shown once, at registration")


class WebhookList(ApiModel):
    items: list[WebhookView]


class DeliveryView(ApiModel):
    event_id: str
    event_type: str
    video_id: str | None = None
    status: DeliveryStatus
    attempts: int
    response_status: int | None = None
    error: str | None = None
    duration_ms: int
    created_at: str


class DeliveryList(ApiModel):
    items: list[DeliveryView]
