"""The platform's own EventBridge bus for domain events (video.ready, video.failed, ...)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from constructs import Construct


class EventsConstruct(Construct):
    """Exposes ``bus``. Step Functions status changes are not here: AWS sends them to the
    default bus, where the pipeline construct puts its rules."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{Stack.of(self).stack_name}-events")
