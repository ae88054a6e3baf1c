"""Webhook subscriptions and deliveries on the platform table (PynamoDB models only here).

Items (``pk`` / ``sk``):

``WEBHOOK#<id>`` / ``SUBSCRIPTION``
    The subscription: owner, url, secret, event types, scope. ``gsi1``:
    ``OWNER#<sub>`` / ``WEBHOOK#<created_at>#<id>`` lists an owner's subscriptions, newest first.
``SUBSCRIBERS#<event type>#<audience>`` / ``WEBHOOK#<id>``
    One fan-out entry per chosen event type, written in the same transaction as the subscription
    and carrying what delivery needs (url, secret). The audience is ``ALL`` for an admin's
    webhook and ``OWNER#<sub>`` for an uploader's, so the subscribers of one event are exactly two
    Queries (the owner's partition and ``ALL``), whatever the number of other subscribers: no
    Scan, no filter that reads and discards.
``WEBHOOK#<id>`` / ``DELIVERY#<created_at>#<event id>``
    One delivery outcome (delivered / failed, attempts, response status); a Query on the
    webhook's partition lists them newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from functions.shared.errors import NotFound
from functions.shared.platform_tables import Gsi1, PlatformItem
from functions.shared.table_binding import TableBinding

SUBSCRIPTION_SK = "SUBSCRIPTION"
DELIVERY_PREFIX = "DELIVERY#"
AUDIENCE_ALL = "ALL"
SCOPE_ALL = "all"
SCOPE_OWN = "own"


def webhook_pk(webhook_id: str) -> str:
    return f"WEBHOOK#{webhook_id}"


def owner_pk(owner_sub: str) -> str:
    return f"OWNER#{owner_sub}"


def audience(scope: str, owner_sub: str) -> str:
    return AUDIENCE_ALL if scope == SCOPE_ALL else owner_pk(owner_sub)


def subscribers_pk(event_type: str, audience_key: str) -> str:
    return f"SUBSCRIBERS#{event_type}#{audience_key}"


class SubscriptionModel(PlatformItem):
    class Meta:
        table_name = "vod-platform"  # replaced from settings at first use (_bind)

    webhook_id = UnicodeAttribute()
    owner_sub = UnicodeAttribute()
    url = UnicodeAttribute()
    secret = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)
    scope = UnicodeAttribute()
    active = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()

    owner_index: Gsi1[SubscriptionModel] = Gsi1()


class SubscriberModel(PlatformItem):
    """Fan-out entry: one per (subscription, event type), in the audience's partition."""

    class Meta:
        table_name = "vod-platform"

    webhook_id = UnicodeAttribute()
    owner_sub = UnicodeAttribute()
    url = UnicodeAttribute()
    secret = UnicodeAttribute()
    event_type = UnicodeAttribute()


class DeliveryModel(PlatformItem):
    class Meta:
        table_name = "vod-platform"

    webhook_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    video_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    attempts = NumberAttribute()
    response_status = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    duration_ms = NumberAttribute()
    created_at = UnicodeAttribute()


_MODELS: tuple[type[Model], ...] = (SubscriptionModel, SubscriberModel, DeliveryModel)
_BINDING = TableBinding(*_MODELS, table=lambda settings: settings.platform_table)


def _bind() -> Connection:
    return _BINDING.bind()


def reset() -> None:
    """Forget the bound table and connections."""
    _BINDING.reset()


@dataclass(frozen=True)
class Subscriber:
    """What delivery needs to know about one subscription."""

    webhook_id: str
    owner_sub: str
    url: str
    secret: str


def create_subscription(
    *,
    webhook_id: str,
    owner_sub: str,
    url: str,
    secret: str,
    events: list[str],
    scope: str,
    created_at: str,
) -> SubscriptionModel:
    """The subscription and its fan-out entries, all or nothing."""
    connection = _bind()
    item = SubscriptionModel(
        webhook_pk(webhook_id),
        SUBSCRIPTION_SK,
        gsi1pk=owner_pk(owner_sub),
        gsi1sk=f"WEBHOOK#{created_at}#{webhook_id}",
        webhook_id=webhook_id,
        owner_sub=owner_sub,
        url=url,
        secret=secret,
        events=events,
        scope=scope,
        active=True,
        created_at=created_at,
    )
    with TransactWrite(connection=connection) as tx:
        tx.save(item, condition=SubscriptionModel.pk.does_not_exist())
        for event_type in events:
            tx.save(
                SubscriberModel(
                    subscribers_pk(event_type, audience(scope, owner_sub)),
                    webhook_pk(webhook_id),
                    webhook_id=webhook_id,
                    owner_sub=owner_sub,
                    url=url,
                    secret=secret,
                    event_type=event_type,
                )
            )
    return item


def get_subscription(webhook_id: str) -> SubscriptionModel:
    _bind()
    try:
        return SubscriptionModel.get(webhook_pk(webhook_id), SUBSCRIPTION_SK, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"webhook {webhook_id} not found") from exc


def list_by_owner(owner_sub: str) -> list[SubscriptionModel]:
    """An owner's subscriptions, newest first (gsi1; eventually consistent)."""
    _bind()
    return list(
        SubscriptionModel.owner_index.query(
            owner_pk(owner_sub),
            SubscriptionModel.gsi1sk.startswith("WEBHOOK#"),
            scan_index_forward=False,
        )
    )


def count_by_owner(owner_sub: str) -> int:
    _bind()
    return SubscriptionModel.owner_index.count(
        owner_pk(owner_sub), SubscriptionModel.gsi1sk.startswith("WEBHOOK#")
    )


def delete_subscription(item: SubscriptionModel) -> None:
    """The subscription and its fan-out entries in one transaction, then its delivery records.

    Raises ``NotFound`` when someone else deleted it first.
    """
    connection = _bind()
    try:
        with TransactWrite(connection=connection) as tx:
            tx.delete(item, condition=SubscriptionModel.pk.exists())
            for event_type in item.events:
                tx.delete(
                    SubscriberModel(
                        subscribers_pk(str(event_type), audience(item.scope, item.owner_sub)),
                        webhook_pk(item.webhook_id),
                    )
                )
    except TransactWriteError as exc:
        if _cancelled_by_condition(exc):
            raise NotFound(f"webhook {item.webhook_id} not found") from exc
        raise
    # Deliveries are history of a subscription that no longer exists: remove them too. A delivery
    # in flight may still record one afterwards; it is harmless and unreachable through the API.
    with DeliveryModel.batch_write() as batch:
        for delivery in _deliveries(item.webhook_id, limit=None):
            batch.delete(delivery)


def _cancelled_by_condition(exc: TransactWriteError) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def subscribers(event_type: str, audiences: list[str]) -> list[Subscriber]:
    """Every subscription to ``event_type`` in the given audiences: one Query per audience."""
    _bind()
    found: dict[str, Subscriber] = {}
    for audience_key in audiences:
        for item in SubscriberModel.query(subscribers_pk(event_type, audience_key)):
            found[item.webhook_id] = Subscriber(
                webhook_id=item.webhook_id, owner_sub=item.owner_sub, url=item.url, secret=item.secret
            )
    return list(found.values())


def record_delivery(
    *,
    webhook_id: str,
    event_id: str,
    event_type: str,
    video_id: str | None,
    status: str,
    attempts: int,
    response_status: int | None,
    error: str | None,
    duration_ms: int,
    created_at: str,
) -> None:
    """Put one delivery outcome. The key comes from the outcome itself, so recording the same
    outcome again (a redelivered message replays it) overwrites the same item."""
    _bind()
    DeliveryModel(
        webhook_pk(webhook_id),
        f"{DELIVERY_PREFIX}{created_at}#{event_id}",
        webhook_id=webhook_id,
        event_id=event_id,
        event_type=event_type,
        video_id=video_id,
        status=status,
        attempts=attempts,
        response_status=response_status,
        error=error,
        duration_ms=duration_ms,
        created_at=created_at,
    ).save()


def recent_deliveries(webhook_id: str, *, limit: int) -> list[DeliveryModel]:
    _bind()
    return list(_deliveries(webhook_id, limit=limit))


def _deliveries(webhook_id: str, *, limit: int | None) -> Iterator[DeliveryModel]:
    kwargs: dict[str, Any] = {"scan_index_forward": False}
    if limit is not None:
        kwargs["limit"] = limit
    return DeliveryModel.query(webhook_pk(webhook_id), DeliveryModel.sk.startswith(DELIVERY_PREFIX), **kwargs)
