"""Data access for the catalog's write model: a title and its seasons and episodes (one partition).

Every change to the aggregate bumps the title item's ``version`` in the same write (a conditional
update, or a transaction with the child item), so ``version`` is the ETag of the whole aggregate
and the table stream carries a title item for every change (the projections are fed from it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from functions.catalog.dal.tables import (
    TITLE_SK,
    CatalogItem,
    EpisodeItem,
    SeasonItem,
    TitleItem,
    title_pk,
)
from functions.shared.clock import now_iso
from functions.shared.errors import Conflict, NotFound, PreconditionFailed
from functions.shared.table_binding import TableBinding

_BINDING = TableBinding(
    CatalogItem, TitleItem, SeasonItem, EpisodeItem, table=lambda settings: settings.catalog_table
)
_TRANSACTION_LIMIT = 100


def bind() -> None:
    _BINDING.bind()


def reset() -> None:
    _BINDING.reset()


def new_title_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Aggregate:
    """A title with its seasons and episodes, as one Query on its partition returns them."""

    title: TitleItem
    seasons: list[SeasonItem] = field(default_factory=list)
    episodes: list[EpisodeItem] = field(default_factory=list)

    def season(self, number: int) -> SeasonItem | None:
        return next((s for s in self.seasons if s.season_number == number), None)

    def episode(self, season: int, number: int) -> EpisodeItem | None:
        return next(
            (e for e in self.episodes if e.season_number == season and e.episode_number == number), None
        )

    def items(self) -> list[CatalogItem]:
        return [self.title, *self.seasons, *self.episodes]


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _stale(title_id: str, expected: int) -> PreconditionFailed:
    """The title exists but its version moved on (or it vanished): tell which."""
    current = find_title(title_id)
    if current is None:
        return PreconditionFailed(f"title {title_id} no longer exists", details={"title_id": title_id})
    return PreconditionFailed(
        f"title {title_id} is at version {int(current.version)}, not {expected}",
        details={"title_id": title_id, "current_version": int(current.version)},
    )


def create_title(title_id: str, *, owner: str, **fields: Any) -> TitleItem:
    bind()
    ts = now_iso()
    item = TitleItem(
        title_pk(title_id),
        TITLE_SK,
        title_id=title_id,
        owner=owner,
        version=1,
        created_at=ts,
        updated_at=ts,
        **fields,
    )
    try:
        item.save(condition=CatalogItem.pk.does_not_exist())
    except PutError as exc:
        if _conditional_failure(exc):
            raise Conflict(f"title {title_id} already exists") from exc
        raise
    return item


def load(title_id: str, *, consistent: bool = True) -> Aggregate:
    """The title with its seasons and episodes: one Query on the title's partition."""
    found = find(title_id, consistent=consistent)
    if found is None:
        raise NotFound(f"title {title_id} not found")
    return found


def find(title_id: str, *, consistent: bool = True) -> Aggregate | None:
    bind()
    title: TitleItem | None = None
    seasons: list[SeasonItem] = []
    episodes: list[EpisodeItem] = []
    for item in CatalogItem.query(title_pk(title_id), consistent_read=consistent):
        if isinstance(item, TitleItem):
            title = item
        elif isinstance(item, SeasonItem):
            seasons.append(item)
        elif isinstance(item, EpisodeItem):
            episodes.append(item)
    if title is None:
        return None
    return Aggregate(title, seasons, episodes)


def find_title(title_id: str) -> TitleItem | None:
    bind()
    try:
        return TitleItem.get(title_pk(title_id), TITLE_SK, consistent_read=True)
    except TitleItem.DoesNotExist:
        return None


def update_title(title_id: str, expected_version: int, fields: dict[str, Any]) -> TitleItem:
    """Set ``fields`` (``None`` removes) and bump the version, if still at ``expected_version``."""
    bind()
    actions: list[Action] = [
        TitleItem.version.set(expected_version + 1),
        TitleItem.updated_at.set(now_iso()),
    ]
    for name, value in fields.items():
        attr = getattr(TitleItem, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    item = TitleItem(title_pk(title_id), TITLE_SK)
    try:
        item.update(actions=actions, condition=TitleItem.version == expected_version)
    except UpdateError as exc:
        if _conditional_failure(exc):
            raise _stale(title_id, expected_version) from exc
        raise
    return item


def set_image(title_id: str, slot: str, image: dict[str, Any] | None) -> int:
    """Record (or with ``None`` remove) one entry of a title's ``images`` map; returns the new version.

    Not guarded by a version (the image arrives asynchronously after an upload); the version is
    still bumped so that clients' ETags and the projections see the change.
    """
    bind()
    images_slot = TitleItem.images[slot]  # type: ignore[index]
    item = TitleItem(title_pk(title_id), TITLE_SK)
    try:
        item.update(
            actions=[
                images_slot.remove() if image is None else images_slot.set(image),
                TitleItem.version.add(1),
                TitleItem.updated_at.set(now_iso()),
            ],
            condition=CatalogItem.pk.exists(),
        )
    except UpdateError as exc:
        if _conditional_failure(exc):
            raise NotFound(f"title {title_id} not found") from exc
        raise
    return int(item.version)


def write_children(
    title_id: str,
    expected_version: int,
    *,
    put: Sequence[CatalogItem] = (),
    put_condition: Condition | None = None,
    update: Sequence[tuple[CatalogItem, list[Action]]] = (),
    delete: Sequence[CatalogItem] = (),
) -> int:
    """Change seasons/episodes and bump the title's version in one transaction; returns the new version.

    Put items must not exist yet (``Conflict``); updated and deleted items must exist (``NotFound``);
    the title must still be at ``expected_version`` (``PreconditionFailed``).
    """
    connection = _BINDING.bind()
    ts = now_iso()
    try:
        with TransactWrite(connection=connection) as tx:
            tx.update(
                TitleItem(title_pk(title_id), TITLE_SK),
                actions=[TitleItem.version.set(expected_version + 1), TitleItem.updated_at.set(ts)],
                condition=TitleItem.version == expected_version,
            )
            for item in put:
                item.updated_at = ts
                tx.save(item, condition=put_condition or CatalogItem.sk.does_not_exist())
            for item, actions in update:
                tx.update(
                    item,
                    actions=[*actions, CatalogItem.updated_at.set(ts)],
                    condition=CatalogItem.sk.exists(),
                )
            for item in delete:
                tx.delete(item, condition=CatalogItem.sk.exists())
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise _stale(title_id, expected_version) from exc
        failed = [i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
        if failed and failed[0] <= len(put):
            raise Conflict("that season or episode already exists") from exc
        if failed:
            raise NotFound("that season or episode does not exist") from exc
        raise
    return expected_version + 1


def delete_title(aggregate: Aggregate, expected_version: int) -> None:
    """Delete the title (conditionally on its version) and every season and episode of it."""
    connection = _BINDING.bind()
    title_id = aggregate.title.title_id
    children: list[CatalogItem] = [*aggregate.seasons, *aggregate.episodes]
    if len(children) < _TRANSACTION_LIMIT:
        try:
            with TransactWrite(connection=connection) as tx:
                tx.delete(aggregate.title, condition=TitleItem.version == expected_version)
                for child in children:
                    tx.delete(child)
        except TransactWriteError as exc:
            raise _stale(title_id, expected_version) from exc
        return
    # A long series: the title goes first (the event is emitted, readers stop seeing it), then
    # the children in batches; a failure part-way leaves unreachable children for the next delete.
    try:
        aggregate.title.delete(condition=TitleItem.version == expected_version)
    except DeleteError as exc:
        if _conditional_failure(exc):
            raise _stale(title_id, expected_version) from exc
        raise
    with CatalogItem.batch_write() as batch:
        for child in children:
            batch.delete(child)


def items_bound_to(video_id: str) -> list[CatalogItem]:
    """The movie or the episodes bound to a video: one Query on the sparse ``by-video`` index."""
    bind()
    return list(CatalogItem.video_index.query(video_id))


def titles_by_key(title_ids: Sequence[str]) -> list[TitleItem]:
    """Several titles in one BatchGetItem."""
    bind()
    keys = [(title_pk(tid), TITLE_SK) for tid in dict.fromkeys(title_ids)]
    return [item for item in TitleItem.batch_get(keys) if isinstance(item, TitleItem)]


def scan_titles() -> Iterator[TitleItem]:
    """Every title item (projection rebuild only: never on a request path)."""
    bind()
    for item in CatalogItem.scan(CatalogItem.sk == TITLE_SK):
        if isinstance(item, TitleItem):
            yield item
