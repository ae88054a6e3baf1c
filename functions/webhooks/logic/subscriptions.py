"""Register, list and remove webhooks; read their delivery records. Who may do what lives here."""

from __future__ import annotations

import uuid

from functions.shared.auth import Principal
from functions.shared.authz import authorize, permits
from functions.shared.clock import now_iso
from functions.shared.errors import Conflict, NotFound
from functions.shared.settings import get_settings
from functions.webhooks.dal import webhooks as dal
from functions.webhooks.logic.destinations import check_url
from functions.webhooks.logic.signing import new_secret
from functions.webhooks.models import (
    ALL_EVENT_TYPES,
    WEBHOOK_ID_RE,
    CreateWebhookRequest,
    CreateWebhookResponse,
    DeliveryList,
    DeliveryStatus,
    DeliveryView,
    EventType,
    WebhookList,
    WebhookView,
)

# Every subscription costs a signed POST per matching event: keep the fan-out of one owner bounded.
MAX_WEBHOOKS_PER_OWNER = 20


def to_view(item: dal.SubscriptionModel) -> WebhookView:
    return WebhookView(
        id=item.webhook_id,
        url=item.url,
        events=[EventType(str(e)) for e in item.events],
        scope=item.scope,
        active=bool(item.active),
        created_at=item.created_at,
    )


def create_webhook(principal: Principal, request: CreateWebhookRequest) -> CreateWebhookResponse:
    authorize(principal, "webhooks:create")
    url = check_url(request.url, allow_http=get_settings().webhook_allow_http)
    if dal.count_by_owner(principal.sub) >= MAX_WEBHOOKS_PER_OWNER:
        raise Conflict(
            f"at most {MAX_WEBHOOKS_PER_OWNER} webhooks per user: delete one first",
            code="webhook_limit_reached",
        )
    chosen = set(request.events or ALL_EVENT_TYPES)
    events = [e.value for e in ALL_EVENT_TYPES if e in chosen]  # a stable order
    secret = new_secret()
    item = dal.create_subscription(
        webhook_id=uuid.uuid4().hex,
        owner_sub=principal.sub,
        url=url,
        secret=secret,
        events=events,
        # An admin's webhook hears about every video; an uploader's about their own only.
        scope=dal.SCOPE_ALL if permits(principal, "webhooks:hear_all_videos") else dal.SCOPE_OWN,
        created_at=now_iso(),
    )
    return CreateWebhookResponse(**to_view(item).model_dump(), secret=secret)


def list_webhooks(principal: Principal) -> WebhookList:
    authorize(principal, "webhooks:list")
    return WebhookList(items=[to_view(item) for item in dal.list_by_owner(principal.sub)])


def load_managed(principal: Principal, webhook_id: str) -> dal.SubscriptionModel:
    """The subscription if this principal may manage it: its owner or an admin (403 for others)."""
    authorize(principal, "webhooks:manage")
    if not WEBHOOK_ID_RE.match(webhook_id):
        raise NotFound(f"webhook {webhook_id} not found")
    item = dal.get_subscription(webhook_id)
    authorize(principal, "webhooks:manage", owner=item.owner_sub)
    return item


def get_webhook(principal: Principal, webhook_id: str) -> WebhookView:
    return to_view(load_managed(principal, webhook_id))


def delete_webhook(principal: Principal, webhook_id: str) -> None:
    dal.delete_subscription(load_managed(principal, webhook_id))


def list_deliveries(principal: Principal, webhook_id: str, *, limit: int) -> DeliveryList:
    load_managed(principal, webhook_id)
    return DeliveryList(
        items=[
            DeliveryView(
                event_id=d.event_id,
                event_type=d.event_type,
                video_id=d.video_id,
                status=DeliveryStatus(d.status),
                attempts=int(d.attempts),
                response_status=int(d.response_status) if d.response_status is not None else None,
                error=d.error,
                duration_ms=int(d.duration_ms),
                created_at=d.created_at,
            )
            for d in dal.recent_deliveries(webhook_id, limit=limit)
        ]
    )
