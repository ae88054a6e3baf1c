"""Data access for a title's image slots (``images.<kind>``), written by the covers renderer.

The write replaces one slot only if it still holds what the renderer read (its ``upload_id``,
or nothing): a compare-and-set on the slot, not on the title's ``version``. Edits of other
fields never conflict with it; two renderers finishing together cannot overwrite each other.

It bumps ``version`` all the same (as ``dal.titles.set_image`` does): the title's representation
changed, so clients' ETags must change with it, and the projector uses the version to tell a new
state of the title from a replayed one. A client that holds an ``If-Match`` from before the
image landed gets 412 on its next update and re-reads: the price of never losing an image.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from functions.catalog.dal import titles
from functions.catalog.dal.tables import TITLE_SK, CatalogItem, TitleItem, title_pk
from functions.shared.clock import now_iso


class SlotMoved(Exception):
    """The slot (or the title) is not what the caller read: read again and decide again."""


def _failure_code(exc: UpdateError) -> str | None:
    return getattr(exc, "cause_response_code", None)


def read_slot(title_id: str, kind: str) -> tuple[bool, dict[str, Any] | None]:
    """(whether the title exists, its ``images.<kind>`` map or None): one consistent GetItem."""
    title = titles.find_title(title_id)
    if title is None:
        return False, None
    images = title.images.as_dict() if hasattr(title.images, "as_dict") else dict(title.images or {})
    slot = images.get(kind)
    return True, dict(slot) if isinstance(slot, dict) else None


def replace_slot(title_id: str, kind: str, record: dict[str, Any], *, replaces: str | None) -> int:
    """Set ``images.<kind>`` to ``record`` if its ``upload_id`` is still ``replaces`` (None: the slot
    is empty) and the title exists; bump the version. Returns the new version; raises SlotMoved."""
    titles.bind()
    slot = TitleItem.images[kind]  # type: ignore[index]
    current = slot["upload_id"]
    unchanged = current.does_not_exist() if replaces is None else current == replaces
    item = TitleItem(title_pk(title_id), TITLE_SK)
    bump = [TitleItem.version.add(1), TitleItem.updated_at.set(now_iso())]
    try:
        item.update(actions=[slot.set(record), *bump], condition=CatalogItem.pk.exists() & unchanged)
    except UpdateError as exc:
        if _failure_code(exc) == "ConditionalCheckFailedException":
            raise SlotMoved(f"images.{kind} of title {title_id} changed") from exc
        if _failure_code(exc) != "ValidationException" or replaces is not None:
            raise
        # No ``images`` map at all (an item written before the attribute existed): a nested path
        # cannot be set under a missing map, so the map is created with the one slot in it.
        try:
            item.update(
                actions=[TitleItem.images.set({kind: record}), *bump],
                condition=CatalogItem.pk.exists() & TitleItem.images.does_not_exist(),
            )
        except UpdateError as retry_exc:
            if _failure_code(retry_exc) == "ConditionalCheckFailedException":
                raise SlotMoved(f"images of title {title_id} changed") from retry_exc
            raise
    return int(item.version)
