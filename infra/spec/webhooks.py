"""Webhooks: the dispatcher, its queue, and the bus rule choosing the events subscribers get."""

from __future__ import annotations

from functions.webhooks.models import ALL_EVENT_TYPES
from infra.spec.types import READ_WRITE, BusRuleSpec, FunctionSpec, QueueSpec

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="webhook-dispatcher",
        handler="functions.webhooks.handlers.handle_dispatch.handler",
        service="webhooks",
        description="Delivers domain events to subscribers, signed (HMAC-SHA256), retried, recorded",
        memory_mb=512,
        timeout_s=120,
        # The owner of a video comes in the event's detail: no videos table, no bus (it only consumes).
        env=("PLATFORM_TABLE", "IDEMPOTENCY_TABLE"),
        grants={"platform_table": READ_WRITE, "idempotency_table": READ_WRITE},
    ),
)

QUEUES: tuple[QueueSpec, ...] = (
    # visibility >= 6x the dispatcher's timeout; SQS redrive retries whole batches later on.
    # One delivery may take ~75 s with retries: small batches keep a batch inside the timeout.
    QueueSpec(
        name="webhooks",
        consumer="webhook-dispatcher",
        batch_size=2,
        visibility_timeout_s=720,
        max_receive_count=5,
    ),
)

BUS_RULES: tuple[BusRuleSpec, ...] = (
    BusRuleSpec(
        name="webhook-events",
        pattern={
            "source": ["vod.videos"],
            # The event types a subscriber may choose, from their one declaration.
            "detail-type": [str(e) for e in ALL_EVENT_TYPES],
        },
        queue="webhooks",
    ),
)
