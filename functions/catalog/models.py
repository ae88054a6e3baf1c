"""Domain model of the catalog: kinds, publication states and their transitions, image slots.

The storage layout (PynamoDB models of the write model and of the read model) lives in
``functions/catalog/dal/tables.py``; data access in ``functions/catalog/dal/titles.py`` (write
model) and ``functions/catalog/dal/views.py`` (read model). The API contract (pydantic) is in
``functions/catalog/contract.py``. See docs/catalog.md for the access patterns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class TitleKind(StrEnum):
    MOVIE = "movie"
    SERIES = "series"


class PublicationState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


# The one place that says which publication state may follow which.
STATE_TRANSITIONS: dict[PublicationState, frozenset[PublicationState]] = {
    PublicationState.DRAFT: frozenset({PublicationState.PUBLISHED}),
    PublicationState.PUBLISHED: frozenset({PublicationState.UNPUBLISHED}),
    PublicationState.UNPUBLISHED: frozenset({PublicationState.PUBLISHED}),
}


def sources_of(target: PublicationState) -> frozenset[PublicationState]:
    return frozenset(src for src, dests in STATE_TRANSITIONS.items() if target in dests)


class ImageSlot(StrEnum):
    """Keys of a title's ``images`` map: ``{"cover": {...}, "backdrop": {...}}`` (the covers work)."""

    COVER = "cover"
    BACKDROP = "backdrop"


# Detail types of the catalog's domain events (source ``vod.catalog``), emitted from the table stream.
EVENT_SOURCE = "vod.catalog"
TITLE_CREATED = "title.created"
TITLE_UPDATED = "title.updated"
TITLE_PUBLISHED = "title.published"
TITLE_UNPUBLISHED = "title.unpublished"
TITLE_DELETED = "title.deleted"
TITLE_EVENTS = (TITLE_CREATED, TITLE_UPDATED, TITLE_PUBLISHED, TITLE_UNPUBLISHED, TITLE_DELETED)


@dataclass(frozen=True)
class ViewRow:
    """One row of the read model (a listing entry), as the projection computes it
    (functions/catalog/logic/projection.py) and the read model's DAL writes it."""

    pk: str
    sk: str
    attributes: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.pk}|{self.sk}"
