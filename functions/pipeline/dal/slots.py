"""The pipeline's concurrency semaphores on the ``platform`` table: one item per priority class.

Layout: ``SLOTS#<class>`` / ``HOLDERS``, whose ``holders`` maps each execution that holds a slot
to the epoch second it took it. Every change is one conditional UpdateItem, so concurrent
executions cannot oversubscribe a budget and repeats change nothing:

* take: add the execution if it holds a slot already (idempotent) or fewer than ``budget`` do;
* give back: remove the execution if it is there (a repeat, or an execution that never held a
  slot, is a no-op); ``taken_at`` makes the removal of an expired lease lose against a re-take.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import size

from functions.shared.platform_tables import PlatformItem
from functions.shared.table_binding import TableBinding

HOLDERS_SK = "HOLDERS"


class SlotsModel(PlatformItem):
    """``pk`` SLOTS#<class>, ``sk`` HOLDERS."""

    class Meta:
        table_name = "vod-platform"  # replaced from settings at first use (_model)
        billing_mode = "PAY_PER_REQUEST"

    holders = MapAttribute[str, Any](default=dict)  # execution name -> epoch seconds of the take


_BINDING = TableBinding(SlotsModel, table=lambda settings: settings.platform_table)


def _model() -> type[SlotsModel]:
    _BINDING.bind()
    return SlotsModel


def _pk(priority_class: str) -> str:
    return f"SLOTS#{priority_class}"


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def take(priority_class: str, execution: str, *, budget: int, now: float) -> int | None:
    """Add ``execution`` to the class's holders; the number of holders after, or None when the
    budget is used up (or the class's item does not exist yet: see ``create``)."""
    model = _model()
    held = model.holders[execution]
    item = model(_pk(priority_class), HOLDERS_SK)
    try:
        item.update(
            actions=[held.set(held | now)],  # if_not_exists: a repeat keeps the first take's time
            # attribute_exists first: size() of a missing map is false on AWS but an error in moto
            condition=held.exists() | (model.holders.exists() & (size(model.holders) < budget)),
        )
    except UpdateError as exc:
        if _conditional_failure(exc):
            return None
        raise
    return len(_plain(item.holders))


def create(priority_class: str) -> None:
    """The class's item with no holders; a no-op when it exists."""
    model = _model()
    try:
        model(_pk(priority_class), HOLDERS_SK, holders={}).save(condition=model.pk.does_not_exist())
    except PutError as exc:
        if not _conditional_failure(exc):
            raise


def holders(priority_class: str) -> dict[str, float] | None:
    """Execution -> epoch seconds of its take; None when the class's item does not exist."""
    try:
        item = _model().get(_pk(priority_class), HOLDERS_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return {name: float(taken) for name, taken in _plain(item.holders).items()}


def give_back(priority_class: str, execution: str, *, taken_at: float | None = None) -> bool:
    """Remove ``execution`` from the holders; False when it was not there (already given back)."""
    model = _model()
    held = model.holders[execution]
    condition = held.exists() if taken_at is None else held == taken_at
    try:
        model(_pk(priority_class), HOLDERS_SK).update(actions=[held.remove()], condition=condition)
    except UpdateError as exc:
        if _conditional_failure(exc):
            return False
        raise
    return True


def _plain(value: Any) -> dict[str, Any]:
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    return dict(value or {})
