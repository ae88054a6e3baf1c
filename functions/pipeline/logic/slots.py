"""The concurrency budget of each priority class, enforced on running pipeline executions.

The known Step Functions semaphore pattern: the first state of the media pipeline,
``AcquireSlot``, takes a slot of the upload's class (functions/pipeline/dal/slots.py) or raises
``SlotUnavailable``, which that state's Retry waits on (jittered backoff, for up to the
execution's timeout). Every way an execution ends gives its slot back: Publish, Compensate, and
the safety net for executions that died without either (saga.py); and an execution that waits
for an admin's review gives it back before the wait (the ReleaseSlotForReview state, ``release_for_review``),
so a held video never holds a slot: its Publish or Compensate then releases nothing. All of them
are idempotent.

A slot whose execution ended without any of those (a bug, a manual StopExecution before the
safety-net rule existed) would be lost for good; so every take records its time, and a take that
finds the budget full first evicts holders older than ``PIPELINE_SLOT_LEASE_SECONDS`` (longer
than the execution timeout: such an execution cannot be running any more).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from functions.pipeline.dal import slots as dal
from functions.shared.observability import logger, metrics
from functions.shared.settings import Settings, get_settings
from functions.videos.logic import priority


class _OfAClass(Protocol):
    """What ``release`` reads of a video record: its priority class (None: standard)."""

    @property
    def priority_class(self) -> str | None: ...


# The operation field of the ReleaseSlotForReview state (same function as AcquireSlot).
RELEASE_FOR_REVIEW = "release_for_review"


class SlotUnavailable(Exception):  # the Step Functions error name AcquireSlot's Retry matches
    """Every slot of the class's budget is held. The message starts with the reason that
    compensation records if the execution gives up waiting (``"<reason>: <text>"``)."""

    def __init__(self, priority_class: str, held: int, budget: int):
        super().__init__(
            f"queue_timeout: all {budget} pipeline slots of the {priority_class} class are in use "
            f"({held} held)"
        )


def acquire(
    *, priority_class: str | None, execution: str, settings: Settings | None = None, now: float | None = None
) -> dict[str, Any]:
    """Take a slot of the class's budget for ``execution`` (again: a no-op) or raise SlotUnavailable."""
    settings = settings or get_settings()
    chosen = priority.class_of(priority_class)
    budget = chosen.budget(settings)
    now = round(time.time() if now is None else now, 3)
    lease = settings.pipeline_slot_lease_seconds
    holders: dict[str, float] | None = {}
    # At most: the class's first take ever creates its item, one eviction of expired leases, a take.
    for _ in range(3):
        held = dal.take(chosen.name, execution, budget=budget, now=now)
        if held is not None:
            logger.info("pipeline slot taken", extra={"priority_class": chosen.name, "held": held})
            return {"priority_class": chosen.name, "budget": budget, "held": held}
        holders = dal.holders(chosen.name)
        if holders is None:
            dal.create(chosen.name)
            continue
        expired = {name: at for name, at in holders.items() if now - at > lease}
        if not expired:
            break
        for name, taken_at in expired.items():
            if dal.give_back(chosen.name, name, taken_at=taken_at):
                logger.warning("evicted an expired pipeline slot", extra={"holder": name, "at": taken_at})
    metrics.add_metric(name="PipelineSlotUnavailable", unit="Count", value=1)
    raise SlotUnavailable(chosen.name, len(holders or {}), budget)


def release(execution: str | None, video: _OfAClass | None) -> bool:
    """Give back the slot ``execution`` holds, if any (safe to repeat; a no-op for an execution that
    never got one, or gave it back before a review). The class is the video's; without the record,
    every class is tried."""
    if not execution:
        return False
    classes = [priority.class_of(video.priority_class)] if video is not None else list(priority.CLASSES)
    return _give_back(execution, classes)


def release_for_review(*, priority_class: str | None, execution: str) -> dict[str, Any]:
    """Give the slot back before the execution waits for an admin (days, not minutes): the class
    is the execution's, as AcquireSlot took it. Safe to repeat."""
    released = _give_back(execution, [priority.class_of(priority_class)])
    if released:
        metrics.add_metric(name="PipelineSlotReleasedForReview", unit="Count", value=1)
    return {"released": released}


def _give_back(execution: str, classes: list[priority.PriorityClass]) -> bool:
    released = any([dal.give_back(c.name, execution) for c in classes])
    if released:
        logger.info("pipeline slot released", extra={"execution": execution})
    return released
