"""Step AcquireSlot: a slot of the upload's priority class, or SlotUnavailable (the state retries).

Step ReleaseSlotForReview (``"operation": "release_for_review"``): the same function gives the
slot back before the execution waits for an admin."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.contracts import AcquireSlotInput, AcquireSlotOutput, SlotReleased
from functions.pipeline.logic.slots import RELEASE_FOR_REVIEW, acquire, release_for_review
from functions.shared.contracts import step_result
from functions.shared.observability import observed

INPUT, OUTPUT = AcquireSlotInput, AcquireSlotOutput | SlotReleased


@observed()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parse(event=event, model=INPUT)
    if step.operation == RELEASE_FOR_REVIEW:
        released = release_for_review(priority_class=step.priority_class, execution=step.execution)
        return step_result(SlotReleased, released)
    return step_result(
        AcquireSlotOutput, acquire(priority_class=step.priority_class, execution=step.execution)
    )
