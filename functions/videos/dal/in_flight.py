"""The per-user count of uploads in flight: one item per user on the videos table.

Layout: hash key ``video_id`` = ``IN_FLIGHT#<owner sub>`` (not a video id, so no video can clash
with it; it has no ``owner_sub`` or ``status``, so neither index lists it), whose ``holders`` maps
each video in flight to the epoch second its upload URL expires, or 0 once its upload arrived
(it then counts until it settles). Every change is one conditional UpdateItem:

* take: add the video if it holds a place already (idempotent) or fewer than ``cap`` do, so 20
  concurrent creates cannot overrun the cap;
* hold: the video counts with no expiry (its upload arrived, or a retry or approval re-entered the
  pipeline), unconditionally: a re-run never fails for the cap;
* give back: remove the video if it is there, so repeats (a retried compensation, the safety net
  after compensation) change nothing and the count never goes below zero;
* expire: remove a video whose URL expired unused, only if its entry is still that expiry (an
  upload that arrived meanwhile wins).

On the videos table rather than the platform table so every function that settles a video (the
lifecycle's moves) reaches it with the grants it already has.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.models import Model

from functions.shared.table_binding import TableBinding


class InFlightModel(Model):
    class Meta:
        table_name = "vod-videos"  # replaced from settings at first use (_model)
        billing_mode = "PAY_PER_REQUEST"

    video_id = UnicodeAttribute(hash_key=True)  # IN_FLIGHT#<owner sub>
    holders = MapAttribute[str, Any](default=dict)  # video id -> URL expiry epoch, 0 once uploaded


_BINDING = TableBinding(InFlightModel, table=lambda settings: settings.videos_table)


def _model() -> type[InFlightModel]:
    _BINDING.bind()
    return InFlightModel


def _key(owner_sub: str) -> str:
    return f"IN_FLIGHT#{owner_sub}"


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _create(owner_sub: str) -> None:
    model = _model()
    try:
        model(_key(owner_sub), holders={}).save(condition=model.video_id.does_not_exist())
    except PutError as exc:
        if not _conditional_failure(exc):
            raise


def take(owner_sub: str, video_id: str, *, cap: int, expires_at: int) -> bool:
    """Count ``video_id`` for ``owner_sub``; False when ``cap`` videos are counted already."""
    _create(owner_sub)
    model = _model()
    held = model.holders[video_id]
    try:
        model(_key(owner_sub)).update(
            actions=[held.set(held | expires_at)],
            condition=held.exists() | (model.holders.exists() & (size(model.holders) < cap)),
        )
    except UpdateError as exc:
        if _conditional_failure(exc):
            return False
        raise
    return True


def hold(owner_sub: str, video_id: str) -> None:
    """Count ``video_id`` until it settles (no expiry), whatever the count."""
    _create(owner_sub)
    model = _model()
    model(_key(owner_sub)).update(actions=[model.holders[video_id].set(0)])


def give_back(owner_sub: str, video_id: str, *, expires_at: int | None = None) -> bool:
    """Stop counting ``video_id``; False when it was not counted (given back already). With
    ``expires_at``: only while its entry is still that unused URL's expiry."""
    model = _model()
    held = model.holders[video_id]
    condition = held.exists() if expires_at is None else held == expires_at
    try:
        model(_key(owner_sub)).update(actions=[held.remove()], condition=condition)
    except UpdateError as exc:
        if _conditional_failure(exc):
            return False
        raise
    return True


def holders(owner_sub: str) -> dict[str, int]:
    """Video id -> URL expiry epoch (0: uploaded) of the videos counted for ``owner_sub``."""
    try:
        item = _model().get(_key(owner_sub), consistent_read=True)
    except DoesNotExist:
        return {}
    value: Any = item.holders
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    return {name: int(at) for name, at in dict(value or {}).items()}
