"""Step AcquireSlot: a slot of the upload's priority class, or SlotUnavailable (the state retries)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.logic.slots import acquire
from functions.shared.observability import observed


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return acquire(priority_class=event.get("priority_class"), execution=event["execution"])
