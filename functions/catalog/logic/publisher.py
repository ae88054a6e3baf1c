"""Publishes catalog changes on the platform bus, in stream order, in PutEvents batches of 10."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from functions.catalog.logic.changes import event_for
from functions.catalog.models import EVENT_SOURCE
from functions.shared.aws import client
from functions.shared.observability import logger
from functions.shared.settings import get_settings

PUT_EVENTS_MAX = 10


def publish(records: Sequence[dict[str, Any]]) -> list[str]:
    """Put one event per title change; returns the sequence numbers to retry from (at most one:
    the first record whose event failed, so that Lambda retries it and everything after it in order)."""
    bus = get_settings().event_bus_name
    entries: list[tuple[str, dict[str, Any]]] = []
    for record in records:
        found = event_for(record)
        if found is None:
            continue
        kind, detail = found
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": kind,
            "Detail": json.dumps(detail),
            "EventBusName": bus,
        }
        entries.append((str((record.get("dynamodb") or {}).get("SequenceNumber", "")), entry))
    events = client("events")
    for start in range(0, len(entries), PUT_EVENTS_MAX):
        chunk = entries[start : start + PUT_EVENTS_MAX]
        response = events.put_events(Entries=[entry for _, entry in chunk])
        if response.get("FailedEntryCount"):
            failed = next(i for i, result in enumerate(response["Entries"]) if result.get("ErrorCode"))
            logger.warning(
                "EventBridge refused a catalog event", extra={"result": response["Entries"][failed]}
            )
            return [chunk[failed][0]]
    return []
