"""Data access for videos. State changes are conditional writes guarded by the transition table.

Only functions/videos/logic/lifecycle.py calls the writes (a test checks it): it names each move.
``transition`` is the only write of ``status``, and it refuses any move the table does not allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action

from functions.shared.clock import now_iso
from functions.shared.errors import Conflict, NotFound
from functions.shared.table_binding import TableBinding
from functions.videos.dal.tables import VideoModel
from functions.videos.models import VideoStatus, check_transition, sources_of

_BINDING = TableBinding(VideoModel, table=lambda settings: settings.videos_table)


def _model() -> type[VideoModel]:
    _BINDING.bind()
    return VideoModel


def _is_conditional_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def create(
    *,
    video_id: str,
    owner_sub: str,
    title: str,
    description: str,
    tags: list[str],
    upload_key: str,
    priority_class: str | None = None,
    visibility: str | None = None,
) -> VideoModel:
    model = _model()
    ts = now_iso()
    item = model(
        video_id,
        owner_sub=owner_sub,
        title=title,
        description=description,
        tags=tags,
        status=VideoStatus.AWAITING_UPLOAD.value,
        created_at=ts,
        updated_at=ts,
        upload_key=upload_key,
        priority_class=priority_class,
        visibility=visibility,
    )
    try:
        item.save(condition=model.video_id.does_not_exist())
    except PutError as exc:
        if _is_conditional_failure(exc):
            raise Conflict(f"video {video_id} already exists") from exc
        raise
    return item


def get(video_id: str) -> VideoModel:
    try:
        return _model().get(video_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"video {video_id} not found") from exc


def find(video_id: str) -> VideoModel | None:
    try:
        return _model().get(video_id, consistent_read=True)
    except DoesNotExist:
        return None


def transition(
    video_id: str,
    to: VideoStatus,
    *,
    only_from: Iterable[VideoStatus] | None = None,
    extra_condition: Any = None,
    **fields: Any,
) -> VideoModel:
    """Move a video to ``to`` if its current status allows it; set ``fields`` in the same write.

    ``only_from`` narrows the statuses the move starts from (default: every one the table allows);
    it cannot widen them: a source the table does not allow raises ``IllegalTransition`` before
    anything is written. Raises ``Conflict`` when the condition fails (someone else moved it first,
    or it is terminal). ``None`` values remove the attribute.
    """
    model = _model()
    sources = frozenset(only_from) if only_from is not None else sources_of(to)
    check_transition(sources, to)
    _refuse_status(fields)
    condition = model.status.is_in(*[s.value for s in sources])
    if extra_condition is not None:
        condition &= extra_condition
    actions: list[Action] = [model.status.set(to.value), model.updated_at.set(now_iso())]
    actions += _field_actions(model, fields)
    item = model(video_id)
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            raise Conflict(f"video {video_id} cannot move to {to.value} from its current status") from exc
        raise
    return item


def update_fields(video_id: str, *, expected_status: VideoStatus | None = None, **fields: Any) -> None:
    """Set fields without a status change (progress, probe facts), optionally only in one status.

    Without ``expected_status`` a DELETED record is refused too (``Conflict``): a pipeline step
    still running when its video was taken down must not write onto the audit record."""
    _refuse_status(fields)
    model = _model()
    condition = model.video_id.exists()
    if expected_status is not None:
        condition &= model.status == expected_status.value
    else:
        condition &= model.status != VideoStatus.DELETED.value
    actions = [model.updated_at.set(now_iso()), *_field_actions(model, fields)]
    try:
        model(video_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            if expected_status is None:
                raise Conflict(f"video {video_id} was taken down (or does not exist)") from exc
            raise Conflict(f"video {video_id} is not in status {expected_status}") from exc
        raise


def append_bounded(video_id: str, attribute: str, entry: dict[str, Any], *, limit: int) -> bool:
    """Append ``entry`` to a list attribute unless it already holds ``limit`` entries (no status
    change); False when it was full (or the video is gone)."""
    _refuse_status({attribute: entry})
    model = _model()
    attr = getattr(model, attribute)
    condition = model.video_id.exists() & (attr.does_not_exist() | (size(attr) < limit))
    actions = [attr.set((attr | []).append([entry])), model.updated_at.set(now_iso())]
    try:
        model(video_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            return False
        raise
    return True


def increment(video_id: str, attribute: str, *, statuses: Iterable[VideoStatus]) -> VideoModel | None:
    """Atomically add 1 to a number attribute while the video is in one of ``statuses``; the
    updated item, or None when the status did not match."""
    _refuse_status({attribute: 1})
    model = _model()
    item = model(video_id)
    try:
        item.update(
            actions=[getattr(model, attribute).add(1)],
            condition=model.status.is_in(*[s.value for s in statuses]),
        )
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            return None
        raise
    return item


def write_progress_in_order(
    video_id: str, progress: dict[str, Any], *, seq: int, statuses: Iterable[VideoStatus]
) -> bool:
    """Write ``progress`` unless a write with a higher ``seq`` got there first (or the status moved on)."""
    model = _model()
    condition = (model.progress_seq.does_not_exist() | (model.progress_seq < seq)) & model.status.is_in(
        *[s.value for s in statuses]
    )
    try:
        model(video_id).update(
            actions=[model.progress.set(progress), model.progress_seq.set(seq)], condition=condition
        )
    except UpdateError as exc:
        if _is_conditional_failure(exc):
            return False
        raise
    return True


def _refuse_status(fields: dict[str, Any]) -> None:
    if "status" in fields:
        raise ValueError("status changes only through transition() (the transition table)")


def _field_actions(model: type[VideoModel], fields: dict[str, Any]) -> list[Action]:
    actions: list[Action] = []
    for name, value in fields.items():
        attr = getattr(model, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    return actions


def reset() -> None:
    """Forget the bound table and connection (the embedded mode restarts on new endpoints)."""
    _BINDING.reset()


def owner_page(
    owner_sub: str, *, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[VideoModel], dict[str, Any] | None]:
    """One page of the owner's videos, newest first: a Query on the by-owner index (never a Scan).
    Returns the items and the key to start the next page from (None on the last page)."""
    return _page(_model().owner_index, owner_sub, limit=limit, start_key=start_key)


def status_page(
    status: VideoStatus, *, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[VideoModel], dict[str, Any] | None]:
    """One page of the videos in ``status``, most recently changed first (the by-status index)."""
    return _page(_model().status_index, status.value, limit=limit, start_key=start_key)


def _page(
    index: Any, hash_key: str, *, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[VideoModel], dict[str, Any] | None]:
    result = index.query(hash_key, scan_index_forward=False, limit=limit, last_evaluated_key=start_key)
    items = list(result)
    # A page of exactly ``limit`` items may be the last one: DynamoDB still returns a key then,
    # and the next page is empty (one more call, never a missing item).
    return items, result.last_evaluated_key


def list_by_status(status: VideoStatus, *, limit: int = 50) -> list[VideoModel]:
    """Newest first, through the by-status index (a Query, never a Scan)."""
    model = _model()
    return list(model.status_index.query(status.value, scan_index_forward=False, limit=limit))


def owner_videos_since(owner_sub: str, since: str, statuses: Iterable[VideoStatus]) -> Iterator[VideoModel]:
    """The owner's videos created after ``since`` (ISO) in one of ``statuses``, newest first: a Query
    on the by-owner index (never a Scan); the status is a filter, so every video of the window is read."""
    model = _model()
    return iter(
        model.owner_index.query(
            owner_sub,
            range_key_condition=model.created_at > since,
            filter_condition=model.status.is_in(*[s.value for s in statuses]),
            scan_index_forward=False,
        )
    )


def attempt_is(attempt: float | None) -> object:
    """Condition: the record's attempt counter is still ``attempt`` (optimistic lock for retries)."""
    model = _model()
    return model.attempt.does_not_exist() if attempt is None else model.attempt == attempt
